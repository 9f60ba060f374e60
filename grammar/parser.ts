// The .cell grammar as one Chevrotain CstParser: rules only, no semantics. The CST it builds is
// turned into the AST by ./ast-builder.ts. Binary operator chains are kept flat here
// (`operand (op operand)*`) and given their precedence by the builder, so parenthesis nesting
// costs few stack frames per level.
//
// Syntax error wording is ours (see messages below), not Chevrotain's default.

import { CstParser, EOF, type IParserErrorMessageProvider, type IToken, type TokenType } from "chevrotain";
import * as T from "./lexer.ts";

// ---------- wording of syntax errors ----------

/** How a token the parser found is named in a message: `'x'`, `the keyword 'cell'`, `end of file`. */
export function describeToken(tok: IToken | undefined): string {
  if (!tok || tok.tokenType === EOF) return "end of file";
  const image = tok.image.length > 24 ? `${tok.image.slice(0, 21)}...` : tok.image;
  if (T.keywordTypes.has(tok.tokenType)) return `the keyword '${image}'`;
  if (tok.tokenType === T.UnterminatedString) return "an unterminated string";
  return `'${image}'`;
}

function labelOf(t: TokenType): string {
  return t.LABEL ?? t.name;
}

/** "a", "a or b", "a, b or c". */
function oneOf(labels: string[]): string {
  const uniq = [...new Set(labels)];
  if (uniq.length <= 1) return uniq[0] ?? "something else";
  return `${uniq.slice(0, -1).join(", ")} or ${uniq[uniq.length - 1]!}`;
}

/**
 * Builds every syntax error message. `endToken` names what lies past the end of the tokens being
 * parsed: the parse driver parses one top-level declaration at a time, so "end of input" for the
 * parser may really be the next `cell` keyword.
 */
export class CellErrorMessages implements IParserErrorMessageProvider {
  endToken: IToken | undefined;

  private found(tok: IToken | undefined): string {
    if (tok && tok.tokenType !== EOF) return describeToken(tok);
    return describeToken(this.endToken);
  }

  buildMismatchTokenMessage(o: { expected: TokenType; actual: IToken; ruleName: string }): string {
    // A '}' is expected when a cell or stack body cannot go on; say what else could have come.
    let wanted = labelOf(o.expected);
    if (o.expected === T.RBrace && o.ruleName === "cellDecl") wanted = "a statement or '}'";
    if (o.expected === T.RBrace && o.ruleName === "stackDecl") wanted = "'layer' or '}'";
    return `expected ${wanted} but found ${this.found(o.actual)}`;
  }

  buildNotAllInputParsedMessage(o: { firstRedundant: IToken }): string {
    return `expected 'cell', 'stack' or 'import' but found ${this.found(o.firstRedundant)}`;
  }

  buildNoViableAltMessage(o: {
    expectedPathsPerAlt: TokenType[][][];
    actual: IToken[];
    customUserDescription?: string;
  }): string {
    const wanted =
      o.customUserDescription ?? oneOf(o.expectedPathsPerAlt.flatMap((alt) => alt.map((p) => labelOf(p[0]!))));
    return `expected ${wanted} but found ${this.found(o.actual[0])}`;
  }

  buildEarlyExitMessage(o: {
    expectedIterationPaths: TokenType[][];
    actual: IToken[];
    customUserDescription?: string;
  }): string {
    const wanted = o.customUserDescription ?? oneOf(o.expectedIterationPaths.map((p) => labelOf(p[0]!)));
    return `expected ${wanted} but found ${this.found(o.actual[0])}`;
  }
}

// ---------- the grammar ----------

export class CellParser extends CstParser {
  readonly messages: CellErrorMessages;

  constructor(messages = new CellErrorMessages()) {
    super(T.allTokens, { recoveryEnabled: true, maxLookahead: 2, errorMessageProvider: messages });
    this.messages = messages;
    this.performSelfAnalysis();
  }

  /** One top-level declaration; the driver calls this once per `import`/`cell`/`stack`. */
  topDecl = this.RULE("topDecl", () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.importDecl) },
        { ALT: () => this.SUBRULE(this.cellDecl) },
        { ALT: () => this.SUBRULE(this.stackDecl) },
      ],
      ERR_MSG: "'cell', 'stack' or 'import'",
    });
  });

  // import { a, b } from "./x.cell"
  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.LBrace);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) });
    this.CONSUME(T.RBrace);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLiteral);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  // cell NAME(I, H, P = 32) { statements }
  cellDecl = this.RULE("cellDecl", () => {
    this.CONSUME(T.Cell);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.dimList);
    this.CONSUME(T.LBrace);
    this.MANY({ GATE: () => this.atStatementStart(), DEF: () => this.SUBRULE(this.statement) });
    this.CONSUME(T.RBrace);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  // stack NAME(I, H) { layer CELL(sizes) ... }
  stackDecl = this.RULE("stackDecl", () => {
    this.CONSUME(T.Stack);
    this.CONSUME(T.Identifier);
    this.SUBRULE(this.dimList);
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.layerDecl));
    this.CONSUME(T.RBrace);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  dimList = this.RULE("dimList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimParam) });
    this.CONSUME(T.RParen);
  });

  dimParam = this.RULE("dimParam", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.CONSUME(T.Integer);
    });
  });

  layerDecl = this.RULE("layerDecl", () => {
    this.CONSUME(T.Layer);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.sizeExpr) });
    this.CONSUME(T.RParen);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  // ---------- statements ----------

  /**
   * Statements have no terminator, so a name followed by `=` always begins the next one (`=` occurs
   * nowhere in an expression). Gating on this keeps a broken statement from swallowing the next,
   * and lets error recovery skip to a real statement start.
   */
  private atStatementStart(): boolean {
    const t = this.LA(1).tokenType;
    if (t === T.Input || t === T.State || t === T.Param || t === T.Output) return true;
    return (t === T.Identifier || t === T.PrimedIdentifier) && this.LA(2).tokenType === T.Equals;
  }

  private notAssignmentStart(): boolean {
    return this.LA(2).tokenType !== T.Equals;
  }

  statement = this.RULE("statement", () => {
    this.OR({
      DEF: [
        { ALT: () => this.SUBRULE(this.inputDecl) },
        { ALT: () => this.SUBRULE(this.stateDecl) },
        { ALT: () => this.SUBRULE(this.paramDecl) },
        { ALT: () => this.SUBRULE(this.outputStmt) },
        { ALT: () => this.SUBRULE(this.assignStmt) },
      ],
      ERR_MSG: "a statement",
    });
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(T.Input);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.varDecl) });
  });

  stateDecl = this.RULE("stateDecl", () => {
    this.CONSUME(T.State);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.varDecl) });
  });

  varDecl = this.RULE("varDecl", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
  });

  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(T.Param);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.paramVar) });
  });

  paramVar = this.RULE("paramVar", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.initExpr);
    });
  });

  // glorot | const(0.5) | uniform(-0.1, 0.1)
  initExpr = this.RULE("initExpr", () => {
    this.OR({
      DEF: [
        {
          GATE: () => this.notAssignmentStart(),
          ALT: () => {
            this.CONSUME(T.Identifier);
            this.OPTION(() => {
              this.CONSUME(T.LParen);
              this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.signedNumber) });
              this.CONSUME(T.RParen);
            });
          },
        },
      ],
      ERR_MSG: "an initializer (such as glorot or const(0.5))",
    });
  });

  signedNumber = this.RULE("signedNumber", () => {
    this.OPTION(() => this.CONSUME(T.Minus));
    this.CONSUME(T.NumberLiteral);
  });

  assignStmt = this.RULE("assignStmt", () => {
    this.OR({
      DEF: [{ ALT: () => this.CONSUME(T.Identifier) }, { ALT: () => this.CONSUME(T.PrimedIdentifier) }],
      ERR_MSG: "a name",
    });
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  outputStmt = this.RULE("outputStmt", () => {
    this.CONSUME(T.Output);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression), ERR_MSG: "an expression" });
  });

  // ---------- sizes ----------

  /** `[H]`, `[H, I]`, or `[]` (a scalar, the same as `[1]`). */
  shape = this.RULE("shape", () => {
    this.CONSUME(T.LBracket);
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.RBracket) },
        {
          ALT: () => {
            this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.sizeExpr), ERR_MSG: "a size (an integer or a size name)" });
            this.CONSUME2(T.RBracket);
          },
        },
      ],
      ERR_MSG: "a size (an integer or a size name)",
    });
  });

  /** Flat: `atom (op atom)*`; precedence is applied by the AST builder. */
  sizeExpr = this.RULE("sizeExpr", () => {
    this.SUBRULE(this.sizeAtom);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus) },
        { ALT: () => this.CONSUME(T.Minus) },
        { ALT: () => this.CONSUME(T.Star) },
      ]);
      this.SUBRULE2(this.sizeAtom);
    });
  });

  sizeAtom = this.RULE("sizeAtom", () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.Integer) },
        { ALT: () => this.CONSUME(T.Identifier) },
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            this.SUBRULE(this.sizeExpr);
            this.CONSUME(T.RParen);
          },
        },
      ],
      ERR_MSG: "a size (an integer or a size name)",
    });
  });

  // ---------- expressions ----------

  /** Flat: `unary (op unary)*`; precedence (+ - < * / < @) is applied by the AST builder. */
  expression = this.RULE("expression", () => {
    this.SUBRULE(this.unaryExpr);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Plus) },
        { ALT: () => this.CONSUME(T.Minus) },
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Slash) },
        { ALT: () => this.CONSUME(T.At) },
      ]);
      this.SUBRULE2(this.unaryExpr);
    });
  });

  /** Prefix minus signs are a loop, not recursion, so `- - - x` costs no stack. */
  unaryExpr = this.RULE("unaryExpr", () => {
    this.MANY(() => this.CONSUME(T.Minus));
    this.SUBRULE(this.primary);
    this.MANY2(() => this.SUBRULE(this.sliceSuffix));
  });

  sliceSuffix = this.RULE("sliceSuffix", () => {
    this.CONSUME(T.LBracket);
    this.SUBRULE(this.sizeExpr);
    this.CONSUME(T.Colon);
    this.SUBRULE2(this.sizeExpr);
    this.CONSUME(T.RBracket);
  });

  primary = this.RULE("primary", () => {
    this.OR({
      DEF: [
        { ALT: () => this.CONSUME(T.NumberLiteral) },
        { GATE: () => this.notAssignmentStart(), ALT: () => this.CONSUME(T.PrimedIdentifier) },
        {
          GATE: () => this.notAssignmentStart(),
          ALT: () => {
            this.CONSUME(T.Identifier);
            this.OPTION(() => {
              this.CONSUME(T.LParen);
              this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
              this.CONSUME(T.RParen);
            });
          },
        },
        {
          ALT: () => {
            this.CONSUME2(T.LParen);
            this.SUBRULE2(this.expression);
            this.CONSUME2(T.RParen);
          },
        },
      ],
      ERR_MSG: "an expression",
    });
  });
}

/** The one parser instance, reused for every parse (Chevrotain parsers are reusable via `input`). */
export const cellParser = new CellParser();
