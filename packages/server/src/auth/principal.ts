/** Who a request comes from: the user an API key belongs to, and whether they are an admin. */
export interface Principal {
  readonly user: string;
  readonly admin: boolean;
}

/**
 * Everyone, on a server without API keys: one user who owns every task and may do
 * everything (the server then listens on loopback only, unless told otherwise).
 */
export const ANONYMOUS: Principal = Object.freeze({ user: 'anonymous', admin: true });

/** True when `principal` may see and cancel a task owned by `owner`. */
export function mayAccess(principal: Principal, owner: string | undefined): boolean {
  return principal.admin || owner === principal.user;
}
