/**
 * The demo app's two protocols on one port, in its real image (`bluegreen/demo:1.0.0`, as the
 * set-up built it) on the Docker engine: HTTP/1.1 as before, and HTTP/2 cleartext with prior
 * knowledge (h2c, what gRPC clients speak), and what each does on SIGTERM (`docker stop`).
 * The switch itself with an HTTP/2 client held across it is kubernetes.test.ts's ("every client moves").
 */
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectCurrentDemoImages } from "../helpers/demoImages";
import { H2Load } from "../helpers/h2";
import { dockerCli } from "../helpers/programStack";
import { sleep } from "../helpers/stream";
import { runId } from "../helpers/toolchain";

const name = runId("bgdemoapp");
const IMAGE = "bluegreen/demo:1.0.0";
let base = "";

/** One raw HTTP/1.1 exchange: what the app wrote, byte for byte, until it closed. */
function raw(request: string): Promise<string> {
    const { hostname, port } = new URL(base);
    return new Promise((resolve, reject) => {
        const s = net.connect(Number(port), hostname, () => s.end(request));
        let out = "";
        s.setEncoding("latin1");
        s.on("data", (d) => (out += d));
        s.on("close", () => resolve(out));
        s.on("error", reject);
    });
}

function h2get(s: http2.ClientHttp2Session, path: string): Promise<{ status: number; type?: string; body: any }> {
    return new Promise((resolve, reject) => {
        const req = s.request({ ":path": path });
        let status = 0;
        let type: string | undefined;
        let body = "";
        req.setEncoding("utf8");
        req.on("response", (h) => ([status, type] = [Number(h[":status"]), h["content-type"] as string]));
        req.on("data", (d) => (body += d));
        req.on("end", () => resolve({ status, type, body: JSON.parse(body) }));
        req.on("error", reject);
        req.end();
    });
}

describe("the demo app: HTTP/1.1 and HTTP/2 (h2c) on one port", () => {
    beforeAll(async () => {
        expectCurrentDemoImages();
        dockerCli("run", "-d", "--name", name, "-e", "COLOR=blue", "-p", "127.0.0.1::8080", IMAGE);
        base = `http://${dockerCli("port", name, "8080/tcp").split("\n")[0]}`;
        for (let i = 0; i < 50 && !(await raw("GET /health HTTP/1.0\r\n\r\n").catch(() => "")).includes(" 200 "); i++) await sleep(100);
    });

    afterAll(() => {
        dockerCli("rm", "-f", name);
    });

    it("HTTP/1.1 is answered as before: status line, headers and JSON body; a request line starting PRI is HTTP/1.1's too", async () => {
        const r = await raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const [head, body] = r.split("\r\n\r\n");
        expect(head.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
        expect(head.split("\r\n").slice(1).map((l) => l.split(":")[0])).toEqual(["Server", "Date", "Content-Type", "Content-Length"]);
        expect(head).toContain(`Content-Length: ${body.length}`);
        expect(Object.keys(JSON.parse(body))).toEqual(["color", "version", "host"]);
        expect(JSON.parse(body)).toMatchObject({ color: "blue", version: "1.0.0" });
        // Starts as the HTTP/2 preface does, but is not it: HTTP/1.1 answers (an unknown method).
        expect((await raw("PRI / HTTP/1.1\r\nHost: x\r\n\r\n")).split("\r\n")[0]).toBe("HTTP/1.1 501 Unsupported method ('PRI')");
    });

    it("HTTP/2 with prior knowledge on the same port: / and /health answer the same JSON, many requests on one session", async () => {
        const s = http2.connect(base);
        const settings = new Promise<void>((resolve) => s.once("remoteSettings", () => resolve()));
        try {
            const root = await h2get(s, "/");
            await settings; // the server's HTTP/2 SETTINGS: an HTTP/1.1 server sends none
            expect(s.alpnProtocol).toBe("h2c");
            expect(root.status).toBe(200);
            expect(root.type).toBe("application/json");
            const overHttp1 = JSON.parse((await raw("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).split("\r\n\r\n")[1]);
            expect(root.body).toEqual(overHttp1);
            expect(await h2get(s, "/health")).toMatchObject({ status: 200, body: { status: "ok", color: "blue" } });
            expect((await h2get(s, "/stream")).status).toBe(404);
            // Multiplexed: 50 requests at once on this one session.
            const many = await Promise.all(Array.from({ length: 50 }, () => h2get(s, "/")));
            expect(many.every((x) => x.status === 200 && x.body.color === "blue")).toBe(true);
        } finally {
            s.close();
        }
    });

    it("on SIGTERM (docker stop) an HTTP/2 session gets GOAWAY (no error, the last stream answered), and no request fails before it", async () => {
        const load = new H2Load(base, 50);
        load.run();
        await sleep(1500);
        dockerCli("stop", "-t", "10", name);
        await sleep(300);
        const report = await load.stop();
        const [held] = report.sessions;
        expect(held.remoteSettings).toBe(true);
        expect(held.goaway).toMatchObject({ code: http2.constants.NGHTTP2_NO_ERROR, lastStreamId: held.lastStream });
        expect(held.closed).toBeDefined();
        const onHeld = report.samples.filter((x) => x.session === 0);
        expect(onHeld.length).toBeGreaterThan(40);
        expect(onHeld.filter((x) => x.status !== 200), "requests on the session that got GOAWAY that failed").toEqual([]);
        expect(held.lastStream).toBe(2 * onHeld.length - 1);
    });
});
