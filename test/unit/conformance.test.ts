/**
 * The comparison both conformance replays use (test/helpers/conformance.ts): every element and
 * key compared, no value matching anything, the change summary without the components.
 */
import { describe, expect, it } from "vitest";
import { type PlanStep, type Recording, countOps, differences, keyed, nameOf, recordedComponents, recordedCustomSummary, typeOf } from "../helpers/conformance";

const step = (op: string, type: string, name: string, extra: Partial<PlanStep> = {}): PlanStep =>
    ({ op, type, name, replaceReasons: [], detailedDiff: {}, ...extra });
const COMPONENTS = new Set(["pulumi:pulumi:Stack", "bluegreen:docker:BlueGreenService"]);

describe("differences", () => {
    it("finds none between equal values, and compares every element, not the first", () => {
        expect(differences({ a: [1, { b: 2 }], c: "x" }, { a: [1, { b: 2 }], c: "x" })).toEqual([]);
        expect(differences({ ports: [{ internal: 80 }, { internal: 81 }] }, { ports: [{ internal: 80 }, { internal: 82 }] }))
            .toEqual(["ports[1].internal: recorded 81, here 82"]);
    });

    it("lets no value stand for another: null, {} and [] differ, a missing key and an extra one are named", () => {
        expect(differences({ env: null }, { env: {} })).toEqual(["env: recorded null, here {}"]);
        expect(differences({ list: [] }, { list: null })).toEqual(["list: recorded [], here null"]);
        expect(differences({ a: 1 }, { a: 1, b: 2 })).toEqual(["b: recorded missing, here 2"]);
        expect(differences([1, 2], [1])).toEqual([": 2 elements recorded, 1 here", "[1]: recorded 2, here missing"]);
    });
});

describe("plan steps and summaries", () => {
    it("keys steps by op, type and normalised name, sorts reasons, and refuses two of one key", () => {
        const ours = keyed([step("update", "docker:index/container:Container", "ours-blue", { replaceReasons: ["b", "a"] })], (n) => n.replace("ours", "rec"));
        expect(ours).toEqual({ "update docker:index/container:Container::rec-blue": { replaceReasons: ["a", "b"], detailedDiff: {} } });
        expect(() => keyed([step("create", "t", "x"), step("create", "t", "x")], (n) => n)).toThrow("two plan steps create t::x");
    });

    it("takes the components off a recorded change summary: those a step changed off their op, the rest off same", () => {
        const first: Recording = {
            step: 1, name: "up", plan: {
                changeSummary: { create: 4 },
                steps: [step("create", "pulumi:pulumi:Stack", "s"), step("create", "bluegreen:docker:BlueGreenService", "svc"), step("create", "t", "a"), step("create", "t", "b")],
            },
        };
        const components = recordedComponents([first], COMPONENTS);
        expect(components).toBe(2);
        expect(recordedCustomSummary(first, components, COMPONENTS)).toEqual({ create: 2 });
        const later: Recording = { step: 2, name: "switch", plan: { changeSummary: { same: 3, update: 1 }, steps: [step("update", "t", "a")] } };
        expect(recordedCustomSummary(later, components, COMPONENTS)).toEqual({ same: 1, update: 1 });
        const short: Recording = { step: 3, name: "odd", plan: { changeSummary: { same: 1 }, steps: [] } };
        expect(() => recordedCustomSummary(short, components, COMPONENTS)).toThrow("step 3: the recorded summary {\"same\":1} has fewer same than its components");
        expect(() => recordedComponents([later], COMPONENTS)).toThrow("not an `up` from nothing");
    });

    it("counts ops, and reads a type and name from a URN", () => {
        expect(countOps([{ op: "same" }, { op: "update" }, { op: "same" }])).toEqual({ same: 2, update: 1 });
        const urn = "urn:pulumi:dev::bluegreen::bluegreen:docker:BlueGreenService$docker:index/container:Container::bluegreen-blue";
        expect(typeOf(urn)).toBe("docker:index/container:Container");
        expect(nameOf(urn)).toBe("bluegreen-blue");
    });
});
