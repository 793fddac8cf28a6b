#!/usr/bin/env python3
"""Fails when the #include "..." graph of a source folder has a cycle.

    include_cycles.py DIR...

Header guards hide a cycle from the compiler (a.h includes b.h includes
a.h compiles, in one order), but such headers cannot be read or split on
their own: each folder's local headers must form a tree.  Prints every
cycle found, as a chain of file names, and exits 1; 0 when there is none.
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def graph(folder):
    files = {f for f in os.listdir(folder) if f.endswith((".c", ".h"))}
    edges = {}
    for f in sorted(files):
        with open(os.path.join(folder, f), encoding="utf-8") as text:
            edges[f] = [i for i in INCLUDE.findall(text.read()) if i in files]
    return edges


def cycles(edges):
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def main(folders):
    if not folders:
        print("usage: include_cycles.py DIR...", file=sys.stderr)
        return 2
    bad = 0
    for folder in folders:
        edges = graph(folder)
        if not any(n.endswith(".h") for n in edges):
            print(f"{folder}: no headers: wrong folder?", file=sys.stderr)
            return 2
        for chain in cycles(edges):
            print(f"{folder}: include cycle: {' -> '.join(chain)}")
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
