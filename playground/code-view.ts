// Generated code beside the spec, Compiler-Explorer style: every module the backends print
// carries spec-line comments (`playground.cell:12  z = sigmoid(...)`) above the code a line
// produced; a block of such comments and the code after it (to the next comment or blank line)
// belong to those spec lines. Hovering a spec line highlights its code, and hovering code
// highlights its spec lines.

const COMMENT = /^\s*(\/\/|\/\*|\*|#|;;)/;

/** For each line of `code`, the spec lines (of `origin`) it belongs to. */
export function lineMap(code: string, origin: string): number[][] {
  const marker = new RegExp(`${origin.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+)`, "g");
  const out: number[][] = [];
  let current: number[] = [];
  let inComments = false;
  for (const line of code.split("\n")) {
    const marks = [...line.matchAll(marker)].map((m) => Number(m[1]));
    if (COMMENT.test(line)) {
      if (!inComments) current = [];
      inComments = true;
      current = [...current, ...marks];
      out.push(marks);
    } else {
      inComments = false;
      if (line.trim() === "") current = [];
      out.push(current);
    }
  }
  return out;
}

export interface CodeView {
  show(code: string, origin: string): void;
  showError(message: string): void;
  highlightSpecLine(line: number | undefined): void;
}

export function createCodeView(host: HTMLElement, onCodeLine: (specLines: number[]) => void): CodeView {
  let rows: HTMLElement[] = [];
  let map: number[][] = [];
  return {
    show(code, origin) {
      map = lineMap(code, origin);
      const frag = document.createDocumentFragment();
      rows = code.split("\n").map((text, i) => {
        const div = document.createElement("div");
        div.className = "code-line";
        div.textContent = text === "" ? " " : text;
        if (map[i]!.length) div.dataset["specLines"] = map[i]!.join(" ");
        div.addEventListener("mouseenter", () => onCodeLine(map[i]!));
        frag.appendChild(div);
        return div;
      });
      host.replaceChildren(frag);
      host.classList.remove("error");
    },
    showError(message) {
      rows = [];
      map = [];
      host.textContent = message;
      host.classList.add("error");
    },
    highlightSpecLine(line) {
      let first: HTMLElement | undefined;
      rows.forEach((r, i) => {
        const on = line !== undefined && map[i]!.includes(line);
        r.classList.toggle("hl", on);
        if (on && !first) first = r;
      });
      if (first) host.scrollTop = first.offsetTop - host.offsetTop - 40;
    },
  };
}
