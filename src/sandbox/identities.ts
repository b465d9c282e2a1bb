import { createHash, randomBytes } from 'node:crypto';

/** Who a bearer token belongs to, as the API server's authenticator reports it. */
export interface UserInfo {
  name: string;
  groups: string[];
  /** Set for ServiceAccount tokens: their requests go through RBAC. */
  serviceAccount?: { namespace: string; name: string };
}

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The identity of the admin token: in system:masters, so RBAC never restricts it. */
export const adminUser: UserInfo = { name: 'sandbox-admin', groups: ['system:masters', 'system:authenticated'] };

export function serviceAccountUser(account: ServiceAccountRef): UserInfo {
  return {
    name: `system:serviceaccount:${account.namespace}:${account.name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`, 'system:authenticated'],
    serviceAccount: { namespace: account.namespace, name: account.name },
  };
}

/**
 * Bearer tokens and their users, shared by every region of a sandbox (a token works in each
 * region, as one kubeconfig user per region holds it). Tokens are kept as SHA-256 digests only.
 */
export class Identities {
  private readonly users = new Map<string, UserInfo>();

  add(token: string, user: UserInfo): void {
    if (!/^\S+$/.test(token)) throw new Error('sandbox: a token must be non-empty and without whitespace');
    this.users.set(digest(token), user);
  }

  /** The token for a ServiceAccount: `token` when given, else a fresh random one. */
  addServiceAccount(account: ServiceAccountRef, token?: string): string {
    const value = token ?? `sa-${randomBytes(24).toString('base64url')}`;
    this.add(value, serviceAccountUser(account));
    return value;
  }

  /** The user of an `Authorization: Bearer <token>` header, or null (401). */
  authenticate(header: string | undefined): UserInfo | null {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (!match) return null;
    return this.users.get(digest(match[1]!)) ?? null;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
