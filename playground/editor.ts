// The spec editor: CodeMirror 6 with a cellc mode whose highlighting comes from the grammar's own
// tokens (grammar/lexer.ts, longest match as the lexer does), the checker's diagnostics, hover
// with each name's symbolic shape and its shape under the chosen sizes, and completion of the
// names in scope and the functions; all from the compiler worker's latest check.

import { basicSetup, EditorView } from "codemirror";
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StringStream } from "@codemirror/language";
import { setDiagnostics, type Diagnostic as CmDiagnostic } from "@codemirror/lint";
import { autocompletion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { Decoration, hoverTooltip, type DecorationSet } from "@codemirror/view";
import { StateEffect, StateField } from "@codemirror/state";
import { tags } from "@lezer/highlight";
import { allTokens, keywordTypes } from "../grammar/lexer.ts";
import type { CheckReply } from "./protocol.ts";

interface TokenRule {
  re: RegExp;
  style: string | null;
}

function tokenStyle(name: string, keyword: boolean): string | null {
  if (keyword) return "keyword";
  if (/Comment/.test(name)) return "comment";
  if (name === "Float" || name === "Integer") return "number";
  if (name === "PrimedIdentifier") return "variableName.special";
  if (name === "Identifier") return "variableName";
  if (/String/.test(name)) return "string";
  if (name === "WhiteSpace") return null;
  return "operator";
}

const rules: TokenRule[] = allTokens.flatMap((t) => {
  const p = t.PATTERN;
  const source = p instanceof RegExp ? p.source : typeof p === "string" ? p.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") : undefined;
  return source === undefined ? [] : [{ re: new RegExp(source, "y"), style: tokenStyle(t.name, keywordTypes.has(t)) }];
});

interface ModeState {
  inComment: boolean;
}

const cellcMode = StreamLanguage.define<ModeState>({
  name: "cellc",
  startState: () => ({ inComment: false }),
  token(stream: StringStream, state: ModeState) {
    if (state.inComment) {
      if (stream.skipTo("*/")) {
        stream.pos += 2;
        state.inComment = false;
      } else stream.skipToEnd();
      return "comment";
    }
    if (stream.match("/*")) {
      state.inComment = true;
      return "comment";
    }
    const line = stream.string;
    let best: { len: number; style: string | null } | undefined;
    for (const r of rules) {
      r.re.lastIndex = stream.pos;
      const m = r.re.exec(line);
      if (m && m[0].length > 0 && (!best || m[0].length > best.len)) best = { len: m[0].length, style: r.style };
    }
    if (!best) {
      stream.next();
      return "invalid";
    }
    stream.pos += best.len;
    return best.style;
  },
  languageData: { commentTokens: { line: "//", block: { open: "/*", close: "*/" } } },
});

const style = HighlightStyle.define([
  { tag: tags.keyword, color: "#7c3aed", fontWeight: "bold" },
  { tag: tags.comment, color: "#6b7280", fontStyle: "italic" },
  { tag: tags.number, color: "#b45309" },
  { tag: tags.special(tags.variableName), color: "#0e7490", fontWeight: "bold" },
  { tag: tags.operator, color: "#be123c" },
  { tag: tags.invalid, color: "#dc2626", textDecoration: "underline" },
]);

/** Lines highlighted from outside (a code line or graph node pointing at its spec line). */
const setMarked = StateEffect.define<number[]>();
const markedLines = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    for (const e of tr.effects) {
      if (e.is(setMarked)) {
        const doc = tr.state.doc;
        deco = Decoration.set(e.value.filter((l) => l >= 1 && l <= doc.lines).sort((a, b) => a - b).map((l) => Decoration.line({ class: "cm-marked" }).range(doc.line(l).from)));
      }
    }
    return deco.map(tr.changes);
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** `[H, I]` under the sizes `{ H: 8, I: 2 }` is `[8, 2]` (size arithmetic is shown as written, `[8 + 2]`). */
export function boundShape(detail: string, sizes: Record<string, number>): string | undefined {
  const m = /\[[^\]]*\]/.exec(detail);
  return m ? m[0].replace(/[A-Za-z_][A-Za-z0-9_]*/g, (n) => (Object.hasOwn(sizes, n) ? String(sizes[n]) : n)) : undefined;
}

export interface SpecEditor {
  view: EditorView;
  setText(text: string): void;
  showCheck(reply: CheckReply): void;
  markLines(lines: number[]): void;
}

export function createEditor(parent: HTMLElement, text: string, hooks: { changed(text: string): void; sizes(): Record<string, number>; hoverLine(line: number | undefined): void }): SpecEditor {
  let last: CheckReply | undefined;
  const hover = hoverTooltip((view, pos) => {
    const o = last?.occurrences.find((s) => s.from <= pos && pos <= s.to);
    if (!o) return null;
    return {
      pos: o.from,
      end: o.to,
      create() {
        const dom = document.createElement("div");
        dom.className = "cm-hover";
        dom.dataset["testid"] = "hover";
        const bound = boundShape(o.detail, hooks.sizes());
        dom.textContent = `${o.detail}${bound && !o.detail.includes(bound) ? `  =  ${bound}` : ""}${o.scope ? `   (in ${o.scope})` : ""}`;
        return { dom };
      },
    };
  });
  const complete = (ctx: CompletionContext): CompletionResult | null => {
    const word = ctx.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!last || (!word && !ctx.explicit)) return null;
    const cells = last.symbols.filter((s) => (s.kind === "cell" || s.kind === "stack") && s.from <= ctx.pos);
    const scope = cells[cells.length - 1]?.name;
    const names = last.symbols.filter((s) => s.scope === undefined || s.scope === scope).map((s) => ({ label: s.name, type: s.kind === "param" || s.kind === "state" || s.kind === "input" ? "variable" : s.kind === "size" ? "constant" : "class", detail: s.detail }));
    const fns = last.functions.map((f) => ({ label: f, type: "function", detail: "function" }));
    return { from: word ? word.from : ctx.pos, options: [...names, ...fns] };
  };
  const view = new EditorView({
    doc: text,
    parent,
    extensions: [
      basicSetup,
      cellcMode,
      syntaxHighlighting(style),
      markedLines,
      hover,
      autocompletion({ override: [complete] }),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) hooks.changed(u.state.doc.toString());
      }),
      EditorView.domEventHandlers({
        mousemove(e, v) {
          const pos = v.posAtCoords({ x: e.clientX, y: e.clientY });
          hooks.hoverLine(pos === null ? undefined : v.state.doc.lineAt(pos).number);
        },
        mouseleave() {
          hooks.hoverLine(undefined);
        },
      }),
    ],
  });
  return {
    view,
    setText(t) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
    },
    showCheck(reply) {
      last = reply;
      const len = view.state.doc.length;
      const ds: CmDiagnostic[] = reply.diagnostics.map((d) => ({
        from: Math.min(d.from, len),
        to: Math.min(Math.max(d.to, d.from), len),
        severity: d.severity,
        source: d.code,
        message: `${d.code}: ${d.message}`,
      }));
      view.dispatch(setDiagnostics(view.state, ds));
    },
    markLines(lines) {
      view.dispatch({ effects: setMarked.of(lines) });
    },
  };
}
