import { describe, expect, it } from "vitest";
import { chooseFormat, useColor } from "../../cli/commands/plan.ts";

describe("the plan command's output format", () => {
  it("is a table on a terminal and markdown when piped", () => {
    expect(chooseFormat({}, true)).toBe("table");
    expect(chooseFormat({}, false)).toBe("markdown");
  });

  it("follows --out's extension, whatever stdout is", () => {
    expect(chooseFormat({ out: "plan.JSON" }, true)).toBe("json");
    expect(chooseFormat({ out: "reports/plan.md" }, true)).toBe("markdown");
    expect(chooseFormat({ out: "plan.txt" }, true)).toBe("markdown");
  });

  it("is --format when given", () => {
    expect(chooseFormat({ format: "table", out: "plan.json" }, false)).toBe("table");
    expect(chooseFormat({ format: "json" }, true)).toBe("json");
  });
});

describe("the plan command's colours", () => {
  it("are on only for a table going to a terminal", () => {
    expect(useColor("table", true, {})).toBe(true);
    expect(useColor("table", false, {})).toBe(false);
    expect(useColor("markdown", true, {})).toBe(false);
    expect(useColor("json", true, {})).toBe(false);
  });

  it("are off whenever NO_COLOR is set to something", () => {
    expect(useColor("table", true, { NO_COLOR: "1" })).toBe(false);
    expect(useColor("table", true, { NO_COLOR: "" })).toBe(true);
  });
});
