import { describe, expect, it } from "vitest";
import { DROP_LIMIT, MAX_OPENS_PER_REQUEST, type Cannon, type ProxyRound, establishedTo, missesOf, tcpActiveOpens } from "../../bench/proxyThroughput";

const cannon = (rps: number, p50 = 1, p99 = 4): Cannon => ({ rps, p50, p99, errors: 0, non2xx: 0, requests: rps * 8 });
function round(kind: "nginx" | "traefik", n: number, direct: number, proxied: number, opened = 10): ProxyRound {
    const d = cannon(direct), x = cannon(proxied), u = cannon(proxied);
    return { kind, round: n, direct: d, proxied: x, share: proxied / direct, viaUrl: u, viaUrlShare: proxied / direct, opened, openedPerRequest: opened / (x.requests + u.requests), pooledAfter: 4 };
}

describe("the proxy table's verdict (bench/proxyThroughput.ts)", () => {
    it("reads ActiveOpens from /proc/net/snmp, and refuses a text without it", () => {
        const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens\nTcp: 1 200 120000 -1 4711 12\nUdp: InDatagrams\nUdp: 3\n";
        expect(tcpActiveOpens(snmp)).toBe(4711);
        expect(() => tcpActiveOpens("Ip: Forwarding\nIp: 1\n")).toThrow(/ActiveOpens/);
    });

    it("counts established connections to the app's port from /proc/net/tcp, not listeners, other ports or closing ones", () => {
        const tcp = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1",
            "   1: 020015AC:A1B2 030015AC:1F90 01 00000000:00000000 00:00000000 00000000   101        0 2 1",
            "   2: 020015AC:A1B3 030015AC:1F90 01 00000000:00000000 00:00000000 00000000   101        0 3 1",
            "   3: 020015AC:A1B4 030015AC:1F90 06 00000000:00000000 03:00000000 00000000     0        0 0 3",
            "   4: 020015AC:0050 010015AC:C350 01 00000000:00000000 00:00000000 00000000   101        0 4 1",
        ].join("\n");
        expect(establishedTo(tcp, 8080)).toBe(2);
    });

    it("meets the targets with nginx above direct in every round, whatever its share does above 100 %", () => {
        const rounds = [1.45, 1.17, 1.61, 1.07].map((s, i) => round("nginx", i + 1, 7000, Math.round(7000 * s)));
        expect(missesOf(rounds)).toEqual([]);
    });

    it("counts a fall below direct from round to round as a drop, capped share or not", () => {
        const rounds = [round("nginx", 1, 7000, 9000), round("nginx", 2, 7000, 5500)];
        expect(missesOf(rounds)).toEqual([expect.stringMatching(/^nginx: the share of direct \(capped at 100 %\) fell from 100\.0 % \(round 1\) to 78\.6 % \(round 2\), more than 10 points$/)]);
        // Within DROP_LIMIT of the first round is no drop.
        const within = [round("traefik", 1, 7000, 5600), round("traefik", 2, 7000, Math.round(7000 * (0.8 - DROP_LIMIT + 0.01)))];
        expect(missesOf(within)).toEqual([]);
    });

    it("misses a round whose proxy opened a connection to the app per request (the issue's cause)", () => {
        const x = round("nginx", 1, 7000, 7000);
        const perRequest = round("nginx", 1, 7000, 7000, x.proxied.requests + x.viaUrl.requests);
        expect(missesOf([perRequest])).toEqual([`nginx, round 1: the proxy opened 112000 connections to the app for 112000 requests, target ≤ ${MAX_OPENS_PER_REQUEST * 100} % of them`]);
        expect(missesOf([x])).toEqual([]);
    });
});
