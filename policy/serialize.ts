/**
 * The effective policy written out in the policy file's own format: every default filled in,
 * key files as absolute paths. As a plain document (for JSON) or as YAML that loads as the
 * same policy.
 *
 * @module
 */

import { Document, isMap, isScalar, type Scalar, visit } from "yaml";
import type { Policy, Requirement, SignedBy, Signer } from "./model.ts";

function signedByDocument(signedBy: SignedBy): Record<string, unknown> {
  if (signedBy.kind === "threshold") return { threshold: signedBy.threshold, of: signedBy.names };
  return { [signedBy.kind]: signedBy.names };
}

/** A signer in the file's form: exactly one of fingerprint, key or certificate; expires. */
function signerDocument(signer: Signer): Record<string, unknown> {
  const certificate = signer.certificate;
  return {
    ...(signer.fingerprint === undefined ? {} : { fingerprint: signer.fingerprint }),
    ...(signer.key === undefined ? {} : { key: signer.key }),
    ...(certificate === undefined ? {} : {
      certificate: {
        file: certificate.file,
        roots: certificate.roots,
        ...(certificate.intermediates === undefined
          ? {}
          : { intermediates: certificate.intermediates }),
        ocsp: certificate.ocsp,
        crls: certificate.crls,
      },
    }),
    ...(signer.expires === undefined ? {} : { expires: signer.expires }),
  };
}

function requirementDocument(requirement: Requirement): Record<string, unknown> {
  return {
    "signed-by": signedByDocument(requirement.signedBy),
    groups: requirement.groups,
    "unsigned-objects": requirement.unsignedObjects,
    legacy: requirement.legacy,
  };
}

/**
 * The effective policy in the policy file's own format: every default written out, key,
 * certificate and CRL files as absolute paths. `keys.keyservers` is null when the policy leaves it to the remote.
 */
export function policyDocument(policy: Policy): Record<string, unknown> {
  return {
    version: 1,
    mode: policy.mode,
    signers: Object.fromEntries(policy.signers.map((s) => [s.name, signerDocument(s)])),
    keys: {
      files: policy.keys.files,
      local: policy.keys.local,
      keyservers: policy.keys.keyservers?.map((k) => ({
        uri: k.uri,
        insecure: k.insecure ?? false,
      })) ?? null,
      offline: policy.keys.offline,
    },
    ...(policy.remote === undefined ? {} : { remote: { ...policy.remote } }),
    require: requirementDocument(policy.require),
    rules: policy.rules.map((rule) => ({
      name: rule.name,
      paths: rule.paths,
      ...(rule.action !== undefined
        ? { action: rule.action }
        : { require: requirementDocument(rule.require!) }),
    })),
    ...(policy.exec.copyWritable === undefined
      ? {}
      : { exec: { "copy-writable": policy.exec.copyWritable } }),
  };
}

/**
 * The effective policy as YAML that loads as the same policy. Comments say whence it comes
 * (path and sha256) and, when `keys.keyservers` is left to a remote, whose are used.
 */
export function policyYaml(policy: Policy): string {
  const document = policyDocument(policy);
  const keys = document.keys as Record<string, unknown>;
  const leftToRemote = keys.keyservers === null;
  if (leftToRemote) delete keys.keyservers;
  const doc = new Document(document);
  visit(doc, {
    Seq(_, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  if (leftToRemote && !policy.keys.offline) {
    const whose = policy.remote === undefined
      ? "the user's current remote"
      : `remote ${policy.remote.name}`;
    const keysNode = doc.get("keys", true);
    const offline = isMap(keysNode)
      ? keysNode.items.find((pair) => isScalar(pair.key) && pair.key.value === "offline")
      : undefined;
    if (offline !== undefined) {
      (offline.key as Scalar).commentBefore = ` keyservers: not set: those of ${whose} are used`;
    }
  }
  const body = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  return `# the effective policy of ${policy.path}\n# sha256 ${policy.digest}\n${body}`;
}
