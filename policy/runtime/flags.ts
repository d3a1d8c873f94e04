/**
 * The flags that Apptainer and SingularityCE accept before and after the subcommands that
 * start a container, with their arity: a boolean (`--flag`, `--flag=false`, stacked `-ce`)
 * or a flag that takes a value (`--flag v`, `--flag=v`, `-fv`, `-f v`). Hidden and deprecated
 * flags are listed too: the runtimes accept them.
 *
 * Read from the runtimes' own command definitions (`cmd/internal/cli/action_flags.go`,
 * `instance_actions_linux.go` and the root command file, with the flag registration of
 * `pkg/cmdline/flag.go`: `bool` flags are booleans, every other type takes a value), plus the
 * `help` flag (`-h`) that cobra adds to every command and the `version` flag it adds to the
 * root command:
 * - Apptainer: github.com/apptainer/apptainer commit 917d66577963ca297352a22e13c86f1748ddc645
 *   (v1.5.3-312-g917d66577, 2026-08-18), cobra v1.10.2, pflag v1.0.10.
 * - SingularityCE: github.com/sylabs/singularity commit ec0433152aeb8a35e2e6205c35d6752072e965f3
 *   (v4.5.0-64-gec0433152, 2026-08-20), cobra v1.10.2, pflag v1.0.10.
 *
 * @module
 */

/** The subcommands that start a container from an image argument. */
export type ContainerCommand =
  | "exec"
  | "run"
  | "shell"
  | "test"
  | "instance start"
  | "instance run";

/** Every {@linkcode ContainerCommand}, in a fixed order. */
export const CONTAINER_COMMANDS: readonly ContainerCommand[] = [
  "exec",
  "run",
  "shell",
  "test",
  "instance start",
  "instance run",
];

/** One flag of a runtime command. */
export interface FlagSpec {
  /** The long name, without `--`. */
  readonly long: string;
  /** The one-letter short name, without `-`, if the flag has one. */
  readonly short?: string;
  /** True when the flag takes a value; false for a boolean. */
  readonly value: boolean;
  /**
   * Set when siftrust refuses the flag although the runtime accepts it: the reason (the
   * command would not start the checked image, or would start nothing).
   */
  readonly refused?: string;
}

/** The flags of one runtime: the root command's, and each container command's. */
export interface RuntimeFlagTable {
  /** The runtime, its repository and the commit read. */
  readonly source: string;
  /** Flags before the subcommand (`apptainer --debug exec …`). */
  readonly root: readonly FlagSpec[];
  /** Flags after each subcommand, before the image. */
  readonly commands: Readonly<Record<ContainerCommand, readonly FlagSpec[]>>;
}

const bool = (long: string, short?: string): FlagSpec => ({ long, short, value: false });
const value = (long: string, short?: string): FlagSpec => ({ long, short, value: true });
const refuse = (spec: FlagSpec, refused: string): FlagSpec => ({ ...spec, refused });

const HELP = refuse(bool("help", "h"), "it prints help and starts no container");
const VERSION = refuse(bool("version"), "it prints the version and starts no container");

/** Root flags common to both runtimes (`-c` is `--config` here, not `--contain`). */
const ROOT_COMMON: readonly FlagSpec[] = [
  bool("debug", "d"),
  bool("nocolor"),
  bool("silent", "s"),
  bool("quiet", "q"),
  bool("verbose", "v"),
  value("config", "c"),
  HELP,
  VERSION,
];

/** Flags of exec, shell, run, test, instance start and instance run in both runtimes. */
const ALL_COMMON: readonly FlagSpec[] = [
  value("add-caps"),
  bool("allow-setuid"),
  value("app"),
  value("apply-cgroups"),
  value("bind", "B"),
  bool("cleanenv", "e"),
  bool("compat"),
  bool("containall", "C"),
  bool("contain", "c"),
  value("containlibs"),
  bool("disable-cache"),
  value("dns"),
  value("drop-caps"),
  bool("fakeroot", "f"),
  value("fusemount"),
  value("home", "H"),
  value("hostname"),
  bool("ipc", "i"),
  bool("keep-privs"),
  value("mount"),
  bool("net", "n"),
  value("netns-path"),
  value("network-args"),
  value("network"),
  bool("no-home"),
  value("no-mount"),
  bool("no-init"),
  bool("no-nv"),
  bool("no-rocm"),
  bool("no-privs"),
  bool("nv"),
  bool("nvccli"),
  bool("rocm"),
  value("overlay", "o"),
  bool("passphrase"),
  value("pem-path"),
  value("scratch", "S"),
  value("security"),
  value("tmpdir"),
  bool("userns", "u"),
  bool("uts"),
  value("workdir", "W"),
  bool("writable", "w"),
  bool("writable-tmpfs"),
  bool("no-https"),
  bool("nohttps"),
  bool("docker-login"),
  value("docker-host"),
  value("docker-password"),
  value("docker-username"),
  value("env"),
  value("env-file"),
  bool("no-umask"),
  bool("no-eval"),
  value("blkio-weight"),
  value("blkio-weight-device"),
  value("cpu-shares"),
  value("cpus"),
  value("cpuset-cpus"),
  value("cpuset-mems"),
  value("memory"),
  value("memory-reservation"),
  value("memory-swap"),
  bool("oom-kill-disable"),
  value("pids-limit"),
  value("authfile"),
  HELP,
];

/** Flags of exec, shell, run and test (not of instances) in both runtimes. */
const ACTIONS_COMMON: readonly FlagSpec[] = [
  bool("pid", "p"),
  bool("no-pid"),
  value("cwd"),
  value("pwd"),
  value("device"),
  value("cdi-dirs"),
];

const APPTAINER_ALL: readonly FlagSpec[] = [
  ...ALL_COMMON,
  value("no-env"),
  bool("compat32"),
  bool("unsquash"),
  bool("ignore-subuid"),
  bool("ignore-fakeroot-command"),
  bool("ignore-userns"),
  bool("underlay"),
  bool("intel-hpu"),
];

const APPTAINER_ACTIONS: readonly FlagSpec[] = [
  ...APPTAINER_ALL,
  ...ACTIONS_COMMON,
  refuse(
    bool("sharens"),
    "every process after the first joins the instance the first one started, not this image",
  ),
];

const APPTAINER_INSTANCE: readonly FlagSpec[] = [
  ...APPTAINER_ALL,
  bool("boot"),
  value("pid-file"),
  value("dmtcp-launch"),
  refuse(value("dmtcp-restart"), "it restores processes from a checkpoint, not from the image"),
];

/** Apptainer's flags. */
export const APPTAINER_FLAGS: RuntimeFlagTable = {
  source: "Apptainer, github.com/apptainer/apptainer commit 917d665 (v1.5.3-312-g917d66577)",
  root: [...ROOT_COMMON, bool("build-config")],
  commands: {
    exec: APPTAINER_ACTIONS,
    run: [...APPTAINER_ACTIONS, value("runscript-timeout")],
    shell: [...APPTAINER_ACTIONS, value("shell", "s")],
    test: APPTAINER_ACTIONS,
    "instance start": APPTAINER_INSTANCE,
    "instance run": [...APPTAINER_INSTANCE, value("runscript-timeout")],
  },
};

const SINGULARITYCE_ALL: readonly FlagSpec[] = [
  ...ALL_COMMON,
  value("data"),
  bool("no-compat"),
  bool("no-setgroups"),
  bool("oci"),
  bool("no-oci"),
  bool("keep-layers"),
  bool("tmp-sandbox"),
  bool("no-tmp-sandbox"),
];

const SINGULARITYCE_ACTIONS: readonly FlagSpec[] = [
  ...SINGULARITYCE_ALL,
  ...ACTIONS_COMMON,
  bool("sif-fuse"),
  value("proot"),
];

const SINGULARITYCE_INSTANCE: readonly FlagSpec[] = [
  ...SINGULARITYCE_ALL,
  bool("boot"),
  value("pid-file"),
];

/** SingularityCE's flags. */
export const SINGULARITYCE_FLAGS: RuntimeFlagTable = {
  source: "SingularityCE, github.com/sylabs/singularity commit ec04331 (v4.5.0-64-gec0433152)",
  root: ROOT_COMMON,
  commands: {
    exec: SINGULARITYCE_ACTIONS,
    run: SINGULARITYCE_ACTIONS,
    shell: [...SINGULARITYCE_ACTIONS, value("shell", "s")],
    test: SINGULARITYCE_ACTIONS,
    "instance start": SINGULARITYCE_INSTANCE,
    "instance run": SINGULARITYCE_INSTANCE,
  },
};
