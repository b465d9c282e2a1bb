/** The parts of an environment's policy that plans depend on (config's `Policy` is a superset). */

export interface RetentionPolicy {
  /** Keep this many newest installed versions, whatever their age. */
  keep: number;
  /** Keep a version for this long after it was last live. */
  minAgeSinceLiveHours: number;
  /** Keep a freshly installed version for this long, even if never live. */
  graceAfterInstallHours: number;
  /** Drain-aware cleanup: delete a version only once its traffic has been 0 for this window. */
  idle?: IdlePolicy | undefined;
}

export interface IdlePolicy {
  windowMinutes: number;
  /** PromQL answering the version's requests over the window (placeholders: core/gates.ts idlePlaceholders). */
  query: string;
}

export interface PlanPolicy {
  bakeSeconds: number;
  minReadyReplicas: number;
  retention: RetentionPolicy;
  /** Health gates: a promotion bakes after every switched region, the last one too, evaluating them. */
  gates?: readonly { name: string }[] | undefined;
}
