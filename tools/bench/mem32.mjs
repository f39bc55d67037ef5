// tools/bench/memuse.py's steps on a 32-bit MicroPython: the WebAssembly port
// (npm package @micropython/micropython-webassembly-pyscript), for the heap a
// 32-bit board such as the Pico needs, where the unix port here is 64-bit.
// Run by tools/bench/run.py:
//
//   node mem32.mjs NODE_MODULES DIR...
//
// The files of the DIRs go to /lib/0, /lib/1, ... in the interpreter's
// filesystem, put first on sys.path (the package's .mpy files, tools/bench).
// Prints memuse.py's MEM lines. Its collector also sees stale words on the
// stack while a call from here runs (memuse.py says more), so each of a
// step's begin, act and end is a runPython() call of its own.
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...dirs] = process.argv.slice(2);
const entry = path.join(modules, "@micropython", "micropython-webassembly-pyscript", "micropython.mjs");
const { loadMicroPython } = await import(pathToFileURL(entry).href);
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copyTree(src, dst) {
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src)) {
    const from = path.join(src, name);
    if (fs.statSync(from).isDirectory()) copyTree(from, dst + "/" + name);
    else mp.FS.writeFile(dst + "/" + name, fs.readFileSync(from));
  }
}

const roots = dirs.map((dir, i) => "/lib/" + i);
dirs.forEach((dir, i) => copyTree(dir, roots[i]));
mp.runPython("import sys\nsys.path[:0] = " + JSON.stringify(roots) + "\nimport memuse");
mp.runPython("steps = len(memuse.STEPS)");
const steps = mp.globals.get("steps");
// A first collection, not counted, for what the set-up above left behind: the
// first begin() would otherwise still count some of it and the step less.
mp.runPython("memuse.begin()");
for (let i = 0; i < steps; i++) {
  mp.runPython("memuse.prepare(" + i + ")");
  mp.runPython("memuse.begin()");
  mp.runPython("memuse.act(" + i + ")");
  mp.runPython("memuse.end(" + i + ")");
}
mp.runPython("memuse.report()");
