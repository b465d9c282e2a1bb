/**
 * Who runs the CLI and from which CI run, from the environment the CLI was started with: what an
 * approval request asked for from CI says about itself. `CUTOVER_ACTOR` / `CUTOVER_CI_RUN_URL`
 * override; otherwise the usual variables of GitHub Actions, GitLab CI, Jenkins, CircleCI and
 * Buildkite; otherwise the local user.
 */
export interface CiContext {
  /** `cli:<name>`: never a Slack user id, so no approver is ever taken for the requester. */
  actor: string;
  /** A link to the CI run, when one is known. */
  runUrl: string | null;
}

export function ciContext(env: NodeJS.ProcessEnv, osUser: () => string = () => 'unknown'): CiContext {
  const text = (name: string): string | null => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const name = text('CUTOVER_ACTOR') ?? text('GITHUB_ACTOR') ?? text('GITLAB_USER_LOGIN') ?? text('BUILDKITE_BUILD_CREATOR') ?? text('CIRCLE_USERNAME') ?? text('USER') ?? text('LOGNAME') ?? localUser(osUser);
  const github = text('GITHUB_SERVER_URL') && text('GITHUB_REPOSITORY') && text('GITHUB_RUN_ID') ? `${text('GITHUB_SERVER_URL')}/${text('GITHUB_REPOSITORY')}/actions/runs/${text('GITHUB_RUN_ID')}` : null;
  const runUrl = text('CUTOVER_CI_RUN_URL') ?? github ?? text('CI_JOB_URL') ?? text('BUILD_URL') ?? text('CIRCLE_BUILD_URL') ?? text('BUILDKITE_BUILD_URL');
  return { actor: `cli:${name}`, runUrl: runUrl !== null && /^https?:\/\/\S+$/.test(runUrl) ? runUrl : null };
}

/** The OS user, when no variable names one (a container, cron); never throws. */
function localUser(osUser: () => string): string {
  try {
    return osUser() || 'unknown';
  } catch {
    return 'unknown';
  }
}
