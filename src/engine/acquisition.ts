/**
 * Which licenses may serve a request, in which order (SPEC §4, seed 003 "License Acquisition
 * Rules"). Pure: the store applies the order atomically, taking the first license whose
 * conditional seat increment succeeds.
 */
import type { SeatModel } from './types.js';

export interface CandidateLicense {
  id: string;
  team: string | null;
  platform: string | null;
  startsAt: number | null;
  expiresAt: number | null;
}

export interface Requester {
  teams: readonly string[];
  /** Owners and admins may borrow other teams' licenses as a last resort. */
  mayBorrow: boolean;
}

/** Valid at `now`: started, not expired. */
export function licenseValid(l: Pick<CandidateLicense, 'startsAt' | 'expiresAt'>, now: number): boolean {
  return (l.startsAt === null || l.startsAt <= now) && (l.expiresAt === null || now < l.expiresAt);
}

/**
 * Rank of a license for a requester, or `null` when it may not serve the request.
 *
 * Platform-restricted licenses that match come before unrestricted ones (rule 1); within
 * each group the requester's own team comes before unassigned licenses (rule 2); an admin
 * finally borrows other teams' licenses (rule 3). The seed's text lists "own team, other
 * teams" for restricted licenses only because its example has no unassigned restricted
 * license; we keep rule 2 there too (own, unassigned, other), which reproduces both of its
 * scenarios.
 */
function rank(l: CandidateLicense, who: Requester, platform: string | null): number | null {
  let group: number;
  if (l.platform === null) group = 1;
  else if (platform !== null && l.platform === platform) group = 0;
  else return null;

  let ownership: number;
  if (l.team === null) ownership = 1;
  else if (who.teams.includes(l.team)) ownership = 0;
  else if (who.mayBorrow) ownership = 2;
  else return null;

  return group * 3 + ownership;
}

/**
 * The licenses that may serve a request, best first. Ties keep the input order (the store
 * passes licenses in creation order, so older licenses fill first).
 */
export function orderCandidates<L extends CandidateLicense>(
  licenses: readonly L[],
  who: Requester,
  platform: string | null,
  now: number,
): L[] {
  const ranked: { l: L; r: number; i: number }[] = [];
  licenses.forEach((l, i) => {
    if (!licenseValid(l, now)) return;
    const r = rank(l, who, platform);
    if (r !== null) ranked.push({ l, r, i });
  });
  ranked.sort((a, b) => a.r - b.r || a.i - b.i);
  return ranked.map((x) => x.l);
}

/** What decides whether a request has any way to be served other than a free seat. */
export interface RefusalShape {
  seatModel: SeatModel;
  /** The seat key the request would reuse a lease by (`seatKey`), or null. */
  seatKey: string | null;
  join: string | null;
  /** The requester's personal cap (`maxLeases`), or null. */
  maxLeases: number | null;
  hasQuota: boolean;
  standby: boolean;
  wait: boolean;
  /** `flexEligible` for the request. */
  flex: boolean;
}

/**
 * Whether, when no seat is free, this request can only be refused: it joins no lease, cannot
 * reuse one by seat key, has no personal cap (whose refusal comes first and says something
 * else), no usage quota (whose exhaustion comes first), no device activation to renew, and
 * no way out of a refusal (flex, the queue, a standby reservation). Pay-per-use is the
 * account's setting, which the store checks. For such a request the store may answer the
 * refusal from one read of the free slots before trying candidates (on SQLite inside the
 * acquiring transaction, on PostgreSQL alone, before it); a grant always goes through the
 * atomic claim.
 */
export function onlyRefusable(r: RefusalShape): boolean {
  return r.seatModel !== 'device' && r.seatKey === null && r.join === null && r.maxLeases === null && !r.hasQuota && !r.standby && !r.wait && !r.flex;
}
