/**
 * Makes `examples/example.sif` with siftrust's own writer: a small deterministic image laid
 * out like one `apptainer build` makes (definition file, labels, environment, and a root
 * file system partition). Run from the repository root:
 *
 * ```sh
 * deno run --allow-read=examples --allow-write=examples examples/make_example.ts
 * ```
 *
 * A test rebuilds it and checks the committed file is identical, so it never drifts.
 *
 * @module
 */

import { createImage, DataType, FsType, partitionExtra, PartType } from "../mod.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Writes the example image to `path`. */
export async function makeExample(path: string): Promise<void> {
  const image = await createImage(path, {
    deterministic: true,
    launchScript: "#!/usr/bin/env run-singularity\n",
    objects: [
      {
        dataType: DataType.Deffile,
        data: text(
          "Bootstrap: scratch\n\n%files\n    hello.txt /hello.txt\n\n%labels\n    Author siftrust\n",
        ),
      },
      {
        dataType: DataType.Labels,
        data: text('{"Author":"siftrust","org.label-schema.schema-version":"1.0"}'),
      },
      { dataType: DataType.EnvVar, data: text("export LC_ALL=C\n"), name: "90-environment.sh" },
      {
        dataType: DataType.Partition,
        data: text("hello from the siftrust example image\n"),
        extra: partitionExtra(FsType.Raw, PartType.PrimarySystem, "amd64"),
      },
    ],
  });
  image.close();
}

if (import.meta.main) {
  await makeExample(new URL("./example.sif", import.meta.url).pathname);
}
