/** The parts of an environment's policy that plans depend on (config's `Policy` is a superset). */

export interface RetentionPolicy {
  /** Keep this many newest installed versions, whatever their age. */
  keep: number;
  /** Keep a version for this long after it was last live. */
  minAgeSinceLiveHours: number;
  /** Keep a freshly installed version for this long, even if never live. */
  graceAfterInstallHours: number;
}

export interface PlanPolicy {
  bakeSeconds: number;
  minReadyReplicas: number;
  retention: RetentionPolicy;
}
