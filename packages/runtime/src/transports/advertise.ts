import { networkInterfaces } from 'node:os';

/** True for an address that means "every interface". */
export function isUnspecified(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)
  );
}

/**
 * The host other processes should use to reach a listener bound to `host`: `advertise` when
 * given; the bound address when it is one; for "every interface" (0.0.0.0, ::), this
 * machine's first non-internal IPv4 address, since advertising 0.0.0.0 sends callers to
 * themselves.
 *
 * @throws TypeError when the machine has no such address: then `advertise` must say it.
 */
export function advertisedHost(host: string, advertise: string | undefined): string {
  if (advertise !== undefined) return advertise;
  if (!isUnspecified(host)) return host;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  throw new TypeError(
    `Runtime.start: listening on ${host} (every interface), but this machine has no external IPv4 address to advertise; set options.advertise (--advertise) to the address other hosts reach it at`,
  );
}
