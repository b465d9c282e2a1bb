/**
 * A rendered install that cutover will not apply, with the reason a user reads. The adapter turns
 * it into a KubeError ('invalid', not transient): trying again cannot help until the chart, the
 * manifests or the config change.
 */
export class InstallRefusal extends Error {
  override readonly name = 'InstallRefusal';
}
