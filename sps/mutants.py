"""Source-level mutants of rtl/: where a Verilog statement can be changed, what the change is, and
the two forms a mutant is written in.

A mutant is one small change to one statement of one module, the kind of bug a person makes:
  * arith      a binary + into - (and back);
  * relop      <, <=, >, >= into their neighbour (off by one), == into != (and back);
  * logic      && into ||, binary & into | (and back), ^ into |, << into >> (and back), >>> into >>;
  * unary      a ~ or a unary - taken away;
  * const      a literal off by one (a 1-bit literal inverted);
  * cond       the condition of a ?: negated;
  * if         an if's condition stuck at 1 (an enable removed), stuck at 0 (e.g. a reset removed), negated;
  * invert     every bit of an assignment's value inverted (for a 1-bit signal: the bit inverted);
  * drop       a clocked nonblocking assignment removed (the register keeps its value: its enable stuck at 0).

Every mutation keeps the width and signedness of the expression it changes (no operator that
changes either is used, nothing inside an index or part-select, a replication count, a parameter
or a generate condition is touched), so that all of them can be compiled into one copy of the RTL
(mutant schemata, as in Untch et al. 1993): `schemata()` rewrites each changed statement as a
selection on `sps_mut`, an integer every module reads from the plusarg +sps_mut=K, where K = 0 is
the unchanged design. One build per testbench then runs every mutant. `apply()` writes one mutant as
plain Verilog (for `sps debug --rtl`, the equivalence proofs and reading).

The Verilog subset is the one rtl/ is written in: modules, generate blocks, always blocks with
begin/end, if/else, case and for statements, functions, `ifdef SPS_ECP5 sections (the simulated
branch only). Text outside the changed spans is kept byte for byte, and every line keeps its number.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

MUT_VAR = "sps_mut"
PLUSARG = "sps_mut"
KINDS = ("arith", "relop", "logic", "unary", "const", "cond", "if", "invert", "drop")

# ---- tokens --------------------------------------------------------------------------------------

_OPS = sorted(["<<<", ">>>", "===", "!==", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "~&", "~|",
               "~^", "^~", "+:", "-:", "**", "->", "::"], key=len, reverse=True)
_NUM = re.compile(r"(\d[\d_]*)?\s*'\s*[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ?_]+|\d[\d_]*(\.\d+)?")
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*|\$[A-Za-z_][A-Za-z0-9_$]*|`[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class Tok:
    text: str
    start: int              # character offsets in the file
    end: int
    kind: str               # id, num, op, str


def tokenize(src: str, defines: set[str] | None = None) -> list[Tok]:
    """The tokens of the simulated source: comments, attributes, strings kept out of expressions,
    preprocessor lines handled (`ifdef/`ifndef/`else/`endif on `defines`; `define, `include,
    `default_nettype, `timescale dropped; `ifdef'd-out text dropped)."""
    defines = set(defines or ())
    toks: list[Tok] = []
    active = [True]
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            i += 1
        elif src.startswith("//", i):
            i = src.find("\n", i) if "\n" in src[i:] else n
        elif src.startswith("/*", i):
            i = src.index("*/", i) + 2
        elif src.startswith("(*", i) and not src.startswith("(*)", i):
            i = src.index("*)", i) + 2                       # an attribute
        elif c == "`" and re.match(r"`(ifdef|ifndef|else|elsif|endif|define|undef|include|default_nettype|"
                                   r"timescale|resetall)\b", src[i:]):
            word = re.match(r"`(\w+)", src[i:]).group(1)
            eol = src.find("\n", i)
            eol = n if eol < 0 else eol
            line = src[i:eol]
            if word == "define":                            # continuation lines
                while line.rstrip().endswith("\\"):
                    nxt = src.find("\n", eol + 1)
                    eol = n if nxt < 0 else nxt
                    line = src[i:eol]
                if all(active):
                    defines.add(line.split()[1].split("(")[0])
            elif word in ("ifdef", "ifndef"):
                name = line.split()[1]
                active.append((name in defines) == (word == "ifdef"))
            elif word == "else":
                active[-1] = not active[-1]
            elif word == "elsif":
                raise ValueError("`elsif is not supported by the mutator")
            elif word == "endif":
                active.pop()
            i = eol
        elif c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            if all(active):
                toks.append(Tok(src[i:j + 1], i, j + 1, "str"))
            i = j + 1
        else:
            m = _NUM.match(src, i) if c.isdigit() or c == "'" else None
            if m and m.end() > i:
                kind, j = "num", m.end()
            else:
                m = _ID.match(src, i)
                if m:
                    kind, j = "id", m.end()
                else:
                    op = next((o for o in _OPS if src.startswith(o, i)), c)
                    kind, j = "op", i + len(op)
            if all(active):
                toks.append(Tok(src[i:j], i, j, kind))
            i = j
    return toks


# ---- mutation sites ------------------------------------------------------------------------------

@dataclass
class Site:
    """A span of one file that mutants rewrite: an expression (an assignment's value or an if's
    condition), or a whole assignment statement (then `lhs`/`rhs` are its parts)."""
    kind: str                       # "expr" (assign / wire value / ?:-free if condition) or "stmt"
    start: int
    end: int
    toks: list[Tok]                 # the expression's tokens (stmt: the value's)
    role: str                       # assign, wire, nb, blocking, if
    clocked: bool = False
    module: str = ""
    lhs: tuple[int, int] | None = None     # stmt: the target's span
    rhs: tuple[int, int] | None = None     # stmt: the value's span
    op: str = ""                    # stmt: "<=" or "="


@dataclass
class Mutant:
    id: str                         # stable: file:line:kind:column:n
    file: str
    module: str
    line: int
    kind: str
    site: Site = field(repr=False)
    text: str = field(repr=False)   # the site's new expression (drop: "")
    what: str = ""                  # "`a + b` -> `a - b`"
    num: int = 0                    # the schemata number (+sps_mut=num); 0 until numbered

    def describe(self) -> str:
        return f"{self.file}:{self.line} [{self.kind}] {self.what}"


_KEYWORDS_SKIP_TO_SEMI = {"parameter", "localparam", "genvar", "integer", "reg", "input", "output", "inout",
                          "defparam", "real", "time", "event", "supply0", "supply1", "tri"}


class _Parser:
    def __init__(self, toks: list[Tok], src: str):
        self.t, self.src, self.i = toks, src, 0
        self.sites: list[Site] = []
        self.headers: list[tuple[str, int]] = []          # (module, offset after its header's ';')
        self.module = ""

    # helpers
    def peek(self, k=0) -> str:
        j = self.i + k
        return self.t[j].text if j < len(self.t) else ""

    def next(self) -> Tok:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, text):
        tok = self.next()
        if tok.text != text:
            raise ValueError(f"offset {tok.start}: expected {text!r}, found {tok.text!r}")
        return tok

    def to_depth0(self, stops: set[str]) -> int:
        """Advance to the next token in `stops` outside (), [], {}; returns its index (not consumed)."""
        depth = 0
        while self.i < len(self.t):
            s = self.t[self.i].text
            if depth == 0 and s in stops:
                return self.i
            if s in "([{":
                depth += 1
            elif s in ")]}":
                depth -= 1
            self.i += 1
        raise ValueError(f"unterminated construct, expected one of {sorted(stops)}")

    def paren(self) -> tuple[int, int]:
        """Consume '( ... )'; returns the token index range of what is inside."""
        self.expect("(")
        a = self.i
        b = self.to_depth0({")"})
        self.i += 1
        return a, b

    # module level
    def parse(self):
        while self.i < len(self.t):
            if self.peek() == "module":
                self.module_decl()
            else:
                self.i += 1

    def module_decl(self):
        self.expect("module")
        self.module = self.next().text
        end = self.to_depth0({";"})
        self.headers.append((self.module, self.t[end].end))
        self.i = end + 1
        self.items({"endmodule"})
        self.expect("endmodule")

    def items(self, stops: set[str]):
        while self.peek() not in stops:
            if not self.peek():
                raise ValueError(f"module {self.module}: unexpected end of file")
            self.item()

    def item(self):
        s = self.peek()
        if s in ("generate", "endgenerate", ";"):
            self.i += 1
        elif s in ("function", "task"):
            self.function(s)
        elif s in _KEYWORDS_SKIP_TO_SEMI:
            self.to_depth0({";"})
            self.i += 1
        elif s == "wire":
            self.declarators("wire")
        elif s == "assign":
            self.i += 1
            self.declarators("assign")
        elif s.startswith("always") or s == "initial":
            self.always()
        elif s == "begin":
            self.i += 1
            if self.peek() == ":":
                self.i += 2
            self.items({"end"})
            self.expect("end")
        elif s in ("if", "for"):                     # generate if / for: compile-time conditions
            self.i += 1
            self.paren()
            self.item()
            if s == "if" and self.peek() == "else":
                self.i += 1
                self.item()
        else:                                        # an instance (or anything else): skipped
            self.to_depth0({";"})
            self.i += 1

    def function(self, kw):
        self.i += 1
        end = "end" + kw
        # declarations up to the body: input / reg / integer lines end with ';'
        while self.peek() != end:
            if self.peek() in ("begin", "if", "for", "case", "casez") or (
                    self.peek() not in _KEYWORDS_SKIP_TO_SEMI and self._is_assignment_ahead()):
                self.statement(clocked=False)
            else:
                self.to_depth0({";"})
                self.i += 1
        self.expect(end)

    def _is_assignment_ahead(self) -> bool:
        j, depth = self.i, 0
        while j < len(self.t):
            s = self.t[j].text
            if depth == 0 and s == ";":
                return False
            if depth == 0 and s in ("=", "<="):
                return True
            depth += s in "([{"
            depth -= s in ")]}"
            j += 1
        return False

    def declarators(self, role):
        """`wire [..] a = expr, b;` or `assign a = expr, b = expr;`: the values are sites."""
        if role == "wire":
            self.i += 1
        while True:
            eq = self.to_depth0({"=", ",", ";"})
            if self.t[eq].text == "=":
                self.i = eq + 1
                a = self.i
                b = self.to_depth0({",", ";"})
                self.add_expr(a, b, role)
            if self.t[self.i].text == ";":
                self.i += 1
                return
            self.i += 1

    def always(self):
        kw = self.next().text
        clocked = kw == "always_ff"
        if kw == "initial":
            self.statement(clocked=False, record=False)
            return
        if self.peek() == "@":
            self.i += 1
            if self.peek() == "(":
                a, b = self.paren()
                clocked = clocked or any(t.text in ("posedge", "negedge") for t in self.t[a:b])
            else:
                self.i += 1                          # @*
        self.statement(clocked)

    # statements
    def statement(self, clocked: bool, record: bool = True):
        s = self.peek()
        if s == "begin":
            self.i += 1
            if self.peek() == ":":
                self.i += 2
            while self.peek() != "end":
                self.statement(clocked, record)
            self.i += 1
        elif s == "if":
            self.i += 1
            a, b = self.paren()
            if record:
                self.add_expr(a, b, "if", clocked=clocked)
            self.statement(clocked, record)
            if self.peek() == "else":
                self.i += 1
                self.statement(clocked, record)
        elif s in ("case", "casez", "casex"):
            self.i += 1
            self.paren()
            while self.peek() != "endcase":
                if self.peek() == "default":
                    self.i += 1
                    if self.peek() == ":":
                        self.i += 1
                else:
                    self.to_depth0({":"})
                    self.i += 1
                self.statement(clocked, record)
            self.i += 1
        elif s in ("for", "while", "repeat"):
            self.i += 1
            self.paren()
            self.statement(clocked, record)
        elif s == ";":
            self.i += 1
        elif s.startswith("$"):                      # a system task
            self.to_depth0({";"})
            self.i += 1
        else:
            start = self.i
            op = self.to_depth0({"<=", "=", ";"})
            if self.t[op].text == ";":
                raise ValueError(f"offset {self.t[start].start}: a statement without an assignment")
            self.i = op + 1
            a = self.i
            b = self.to_depth0({";"})
            self.i = b + 1
            if record and b > a:
                self.sites.append(Site(
                    "stmt", self.t[start].start, self.t[b].end, self.t[a:b], "nb" if self.t[op].text == "<=" else "blocking",
                    clocked, self.module, (self.t[start].start, self.t[op - 1].end),
                    (self.t[a].start, self.t[b - 1].end), self.t[op].text))

    def add_expr(self, a: int, b: int, role: str, clocked: bool = False):
        if b > a:
            self.sites.append(Site("expr", self.t[a].start, self.t[b - 1].end, self.t[a:b], role, clocked,
                                   self.module))


def sites_of(src: str, defines: set[str] | None = None) -> tuple[list[Site], list[tuple[str, int]]]:
    """The mutation sites of a Verilog source and, per module, the offset after its header."""
    p = _Parser(tokenize(src, defines), src)
    p.parse()
    return p.sites, p.headers


# ---- mutations of one site -----------------------------------------------------------------------

_SWAP = {
    "+": ("arith", "-"), "-": ("arith", "+"),
    "<": ("relop", "<="), "<=": ("relop", "<"), ">": ("relop", ">="), ">=": ("relop", ">"),
    "==": ("relop", "!="), "!=": ("relop", "=="),
    "&&": ("logic", "||"), "||": ("logic", "&&"), "&": ("logic", "|"), "|": ("logic", "&"),
    "^": ("logic", "|"), "<<": ("logic", ">>"), ">>": ("logic", "<<"), ">>>": ("logic", ">>"),
}
_OPERAND_END = {"id", "num", "str"}
_LIT = re.compile(r"(?:(\d[\d_]*)\s*)?'\s*([sS]?)([bBoOdDhH])\s*([0-9a-fA-F_]+)$")


def _mutable_flags(toks: list[Tok]) -> list[bool]:
    """Per token: may it be changed? Not inside [...] (indices, part-selects: widths), not in a
    replication count ({N{...}}), not the arguments of a macro (`SPS_COUNT_W(...): widths)."""
    n = len(toks)
    ok = [True] * n
    match: dict[int, int] = {}
    stack: list[int] = []
    for j, t in enumerate(toks):
        if t.text in "([{":
            stack.append(j)
        elif t.text in ")]}":
            if stack:
                match[stack.pop()] = j
    for j, t in enumerate(toks):
        if t.text == "[" and j in match:
            for k in range(j, match[j] + 1):
                ok[k] = False
        elif t.text == "{" and j in match:
            depth, k = 0, j + 1
            while k < match[j]:
                s = toks[k].text
                if depth == 0 and s == ",":
                    break
                if depth == 0 and s == "{" and k > j + 1:
                    for q in range(j + 1, k):          # the replication count
                        ok[q] = False
                    break
                depth += s in "([{"
                depth -= s in ")]}"
                k += 1
        elif t.kind == "id" and t.text.startswith("`") and j + 1 < n and toks[j + 1].text == "(" \
                and j + 1 in match:
            for k in range(j, match[j + 1] + 1):
                ok[k] = False
    return ok


def _literal_off_by_one(text: str) -> str | None:
    t = text.replace(" ", "")
    if re.fullmatch(r"\d[\d_]*", t):
        return str(int(t.replace("_", "")) + 1)
    m = _LIT.match(t)
    if not m:
        return None                                    # x / z digits, reals
    size, s, base, digits = m.groups()
    v = int(digits.replace("_", ""), {"b": 2, "o": 8, "d": 10, "h": 16}[base.lower()])
    bits = int(size) if size else 32
    v2 = v + 1 if v + 1 < 2 ** bits else v - 1
    return f"{size or ''}'{s}{'b' if bits == 1 else 'd'}{v2}"


def expr_mutations(toks: list[Tok], src: str, a: int, b: int) -> list[tuple[str, str, str, int]]:
    """The mutations of the expression src[a:b] with tokens `toks`: (kind, new text, what, offset)."""
    out = []
    ok = _mutable_flags(toks)

    def replaced(tok: Tok, new: str) -> str:
        return src[a:tok.start] + new + src[tok.end:b]

    for j, t in enumerate(toks):
        if not ok[j]:
            continue
        prev = toks[j - 1] if j > 0 else None
        binary = prev is not None and (prev.kind in _OPERAND_END or prev.text in (")", "]", "}"))
        if t.kind == "op" and t.text in _SWAP and (binary or t.text in ("==", "!=")):
            kind, new = _SWAP[t.text]
            out.append((kind, replaced(t, new), f"`{t.text}` -> `{new}`", t.start))
        elif t.kind == "op" and not binary and t.text in ("~", "-"):
            out.append(("unary", replaced(t, ""), f"unary `{t.text}` removed", t.start))
        elif t.kind == "num":
            new = _literal_off_by_one(t.text)
            if new is not None:
                out.append(("const", replaced(t, new), f"`{t.text}` -> `{new}`", t.start))
        elif t.text == "?":
            # the condition: back to the nearest ?, :, ',', '=' or opening bracket at this depth
            depth, k = 0, j - 1
            while k >= 0:
                s = toks[k].text
                if s in ")]}":
                    depth += 1
                elif s in "([{":
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and s in ("?", ":", ","):
                    break
                k -= 1
            c0, c1 = toks[k + 1].start, toks[j - 1].end
            if all(ok[k + 1:j]):
                text = src[a:c0] + "!(" + src[c0:c1] + ")" + src[c1:b]
                out.append(("cond", text, f"`{_short(src[c0:c1])} ?` negated", t.start))
    return out


def _short(s: str, n: int = 40) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 3] + "..."


def site_mutations(site: Site, src: str) -> list[tuple[str, str, str, int]]:
    """(kind, new expression text, what, offset) of every mutation of `site`; drop has text ""."""
    a, b = site.rhs if site.kind == "stmt" else (site.start, site.end)
    orig = src[a:b]
    out = expr_mutations(site.toks, src, a, b)
    if site.role == "if":
        out += [("if", "1'b1", f"`if ({_short(orig)})` -> `if (1)`", a),
                ("if", "1'b0", f"`if ({_short(orig)})` -> `if (0)`", a),
                ("if", f"!({orig})", f"`if ({_short(orig)})` negated", a)]
    else:
        target = src[site.lhs[0]:site.lhs[1]] if site.lhs else ""
        out.append(("invert", f"~({orig})", f"value of `{_short(target or orig)}` inverted", a))
        if site.kind == "stmt" and site.role == "nb" and site.clocked:
            out.append(("drop", "", f"`{_short(target)} <= ...` removed (register holds)", site.start))
    return out


# ---- whole files ---------------------------------------------------------------------------------

def _line(src: str, off: int) -> int:
    return src.count("\n", 0, off) + 1


def file_mutants(path: Path, defines: set[str] | None = None) -> list[Mutant]:
    src = path.read_text()
    sites, _ = sites_of(src, defines)
    out = []
    for site in sites:
        for n, (kind, text, what, off) in enumerate(site_mutations(site, src)):
            line = _line(src, off)
            col = off - src.rfind("\n", 0, off)
            out.append(Mutant(f"{path.name}:{line}:{col}:{kind}:{n}", path.name, site.module, line, kind,
                              site, text, what))
    return out


def all_mutants(rtl: Path, defines: set[str] | None = None) -> list[Mutant]:
    """Every mutant of every rtl/*.v, in file and source order."""
    out = []
    for p in sorted(rtl.glob("*.v")):
        out += file_mutants(p, defines)
    return out


def _site_text(src: str, site: Site, variants: list[tuple[int | None, Mutant]]) -> str:
    """The site rewritten: with number k (schemata: `sps_mut == k` selects it) or None (the
    mutant alone)."""
    a, b = site.rhs if site.kind == "stmt" else (site.start, site.end)
    orig = src[a:b]
    exprs = [(k, m) for k, m in variants if m.kind != "drop"]
    drops = [(k, m) for k, m in variants if m.kind == "drop"]
    if any(k is None for k, _ in variants):                 # one mutant, applied
        (_, m), = variants
        if m.kind == "drop":
            return "begin end"
        expr = m.text
    else:
        expr = orig
        if exprs:
            expr = f"({orig})"
            for k, m in reversed(exprs):             # the copies on one line: lines keep their numbers
                expr = f"({MUT_VAR} == {k}) ? ({_one_line(m.text)}) : {expr}"
            expr = f"({expr})"
    if site.kind == "expr":
        return expr
    stmt = src[site.start:a] + expr + src[b:site.end]
    for k, _ in drops:
        stmt = f"begin if ({MUT_VAR} != {k}) {stmt} end"
    return stmt


def _one_line(text: str) -> str:
    """An expression's text without comments and line breaks (no strings occur in expressions)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return " ".join(re.sub(r"//[^\n]*", " ", text).split())


def _rewrite(src: str, edits: dict[int, tuple[Site, list]], headers: list[tuple[str, int]] | None) -> str:
    out, pos = [], 0
    inserts = sorted(headers or [], key=lambda h: h[1])
    spans = sorted(((s.start, s.end, s, v) for s, v in edits.values()), key=lambda e: e[0])
    events = sorted([(off, 0, None) for _, off in inserts] + [(a, 1, (a, b, s, v)) for a, b, s, v in spans],
                    key=lambda e: (e[0], e[1]))
    for off, what, span in events:
        if what == 0:
            out.append(src[pos:off])
            out.append(f" integer {MUT_VAR}; initial if (!$value$plusargs(\"{PLUSARG}=%d\", {MUT_VAR})) "
                       f"{MUT_VAR} = 0;")
            pos = off
        else:
            a, b, s, v = span
            out.append(src[pos:a])
            out.append(_site_text(src, s, v))
            pos = b
    out.append(src[pos:])
    return "".join(out)


def schemata(rtl: Path, mutants: list[Mutant], out: Path, defines: set[str] | None = None) -> Path:
    """A copy of rtl/ in `out` with every mutant compiled in (mutant m selected by +sps_mut=m.num);
    files without mutants are copied unchanged. Returns `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    by_file: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_file.setdefault(m.file, []).append(m)
    for p in sorted(rtl.iterdir()):
        if not p.is_file():
            continue
        src = p.read_text()
        ms = by_file.get(p.name)
        if not ms:
            (out / p.name).write_text(src)
            continue
        _, headers = sites_of(src, defines)
        edits: dict[int, tuple[Site, list]] = {}
        for m in ms:
            edits.setdefault(m.site.start, (m.site, []))[1].append((m.num, m))
        (out / p.name).write_text(_rewrite(src, edits, headers))
    return out


def apply(rtl: Path, m: Mutant, out: Path) -> Path:
    """A copy of rtl/ in `out` with mutant `m` alone, as plain Verilog."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    for p in sorted(rtl.iterdir()):
        if p.is_file():
            src = p.read_text()
            text = _rewrite(src, {m.site.start: (m.site, [(None, m)])}, None) if p.name == m.file else src
            (out / p.name).write_text(text)
    return out


def digest(mutants: list[Mutant]) -> str:
    return hashlib.sha1("\n".join(f"{m.num} {m.id}" for m in mutants).encode()).hexdigest()[:10]


# ---- the module hierarchy ----------------------------------------------------------------------

def hierarchy(dirs) -> dict[str, set[str]]:
    """module -> the modules it instantiates (directly), from the Verilog files of `dirs`."""
    inst = re.compile(r"^\s*(sps_\w+)\s*(?:#\s*\(|[A-Za-z_]\w*\s*\()", re.M)
    mod = re.compile(r"^\s*module\s+(\w+)", re.M)
    out: dict[str, set[str]] = {}
    for d in dirs:
        for p in sorted(Path(d).glob("*.v")):
            text = p.read_text()
            # split per module
            starts = [(m.start(), m.group(1)) for m in mod.finditer(text)] + [(len(text), "")]
            for (a, name), (b, _) in zip(starts, starts[1:]):
                out.setdefault(name, set()).update(n for n in inst.findall(text[a:b]) if n != name)
    return out


def contains(hier: dict[str, set[str]], top: str) -> set[str]:
    """`top` and every module below it."""
    seen, todo = set(), [top]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += sorted(hier.get(m, ()))
    return seen
