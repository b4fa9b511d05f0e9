import { describe, expect, it } from "vitest";
import { declaredContainers, runArgs, runArgv } from "../helpers/declared";

const place = { network: "fx-net", label: "bluegreen.test=fx", volumes: { "/etc/nginx/bluegreen": "fx-vol" } };

describe("the e2e fixture's translation of declared containers to `docker run`", () => {
    it("carries every declared setting of the nginx proxy, on the fixture's network and volume", async () => {
        const proxy = (await declaredContainers({ proxyPort: "18080", previewPort: "18081" })).get("decl-proxy")!;
        const argv = runArgv(runArgs(proxy, place), "n");
        expect(argv.slice(0, 4)).toEqual(["run", "-d", "--name", "n"]);
        const flags = argv.join(" ");
        for (const f of ["--network fx-net", "-p 127.0.0.1:18080:80", "-p 127.0.0.1:18081:81", "-v fx-vol:/etc/nginx/bluegreen",
            "--restart unless-stopped", "--security-opt no-new-privileges", "--cap-drop ALL", "--cap-add NET_BIND_SERVICE",
            "--stop-signal SIGQUIT", "--label bluegreen.test=fx", "--label bluegreen.component=decl-proxy"]) {
            expect(flags).toContain(f);
        }
        expect(argv.slice(argv.indexOf("bluegreen/nginx:1.22"))).toEqual(["bluegreen/nginx:1.22", ...proxy.command]);
    });

    it("gives a color its env in plain text (secret in state, not in the container) and its alias", async () => {
        const green = (await declaredContainers({ greenEnv: '{"TOKEN":"t0k"}' })).get("decl-green-0")!;
        const r = runArgs(green, place);
        expect(r.env).toEqual(expect.arrayContaining(["-e", "TOKEN=t0k", "COLOR=green"]));
        expect(r.hardening.join(" ")).toContain("--network fx-net --network-alias green");
    });

    it("refuses an argument it does not know instead of dropping it", () => {
        expect(() => runArgs({ image: "x", privileged: true }, place)).toThrow(/`privileged` has no translation/);
        expect(() => runArgs({ image: "x", volumes: [{ containerPath: "/data" }] }, place)).toThrow(/no fixture volume given for \/data/);
    });
});
