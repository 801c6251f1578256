#!/usr/bin/env python3
"""Lists every function longer than the limit in the code base's *.cpp files
outside tests/ (and build folders), and exits 1 when there is one.

A function's length is its lines from the line of its opening brace to the line
of its closing brace, both counted (Trainer::run was 232). Lambdas and local
classes count toward the function around them. The parse is a brace walk over
the source with comments, strings and character literals blanked: a brace
opens a function body when the text before it (back to the last ; { or }) has a
parenthesis, is no class, namespace or initialiser, and the scope around it is
a namespace, a class or the file.

  scripts/long_functions.py [--limit 120] [--top N] [ROOT]
"""
import argparse
import os
import re
import sys

SKIP_DIRS = {"tests", "build", ".git", "third_party", "_deps"}
SCOPE_HEAD = re.compile(r"\b(namespace|class|struct|union|enum)\b|extern\s+\"C\"")


def blank(src):
    """Comments, string and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "R" and src.startswith('R"', i) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', src[i:])
            end = src.find(")" + m.group(1) + '"', i) if m else -1
            if end < 0:
                out.append(c)
                i += 1
                continue
            j = end + len(m.group(1)) + 2
            out.append('"' + re.sub(r"[^\n]", " ", src[i + 1:j - 1]) + '"')
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and src[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == "\\" else 1
            out.append(c + " " * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(src):
    """(name, first line, line count) of every function body in the source."""
    # Preprocessor lines (with their continuations) blanked too: `#if defined(X)` is no function head.
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), blank(src), flags=re.M)
    stack = []  # per open brace: "scope" (namespace, class, file-level block) or "fn" or "other"
    head_start, found, line = 0, [], 1
    fn_open = None  # (name, line) of the function body being walked
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in ";":
            if not stack or stack[-1] == "scope":
                head_start = i + 1
        elif c == "{":
            head = text[head_start:i]
            in_scope = not stack or stack[-1] == "scope"
            if not in_scope:
                stack.append("other")
            elif SCOPE_HEAD.search(head) and "(" not in head.split("{")[0].split(":")[0]:
                stack.append("scope")
            elif ")" in head and not re.search(r"=\s*$", head.strip()) and not re.search(r"(^|[^=!<>])=[^=]", head.split("(")[0]):
                stack.append("fn")
                name = re.findall(r"([~\w:]+(?:<[^()]*>)?|operator\S+)\s*\(", head)
                fn_open = (name[0] if name else "?", line)
            else:
                stack.append("other")
            head_start = i + 1
        elif c == "}":
            kind = stack.pop() if stack else "scope"
            if kind == "fn" and fn_open:
                found.append((fn_open[0], fn_open[1], line - fn_open[1] + 1))
                fn_open = None
            if not stack or stack[-1] == "scope":
                head_start = i + 1
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--limit", type=int, default=120)
    ap.add_argument("--top", type=int, default=0, help="also list the N longest functions")
    a = ap.parse_args()
    rows = []
    for d, dirs, files in os.walk(a.root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith("build"))
        for f in sorted(files):
            if f.endswith(".cpp"):
                p = os.path.join(d, f)
                with open(p, encoding="utf-8", errors="replace") as fh:
                    for name, first, n in functions(fh.read()):
                        rows.append((n, os.path.relpath(p, a.root), first, name))
    rows.sort(reverse=True)
    for n, p, first, name in rows[: a.top]:
        print(f"{n:5d}  {p}:{first}  {name}")
    over = [r for r in rows if r[0] > a.limit]
    for n, p, first, name in over:
        print(f"{p}:{first}: {name} is {n} lines (limit {a.limit}): split it into named steps", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
