"""Make a PyInstaller folder of SketchStudio CPU-only: drop torch's CUDA libraries (build.spec runs this).

pip's torch is a CUDA build: libtorch.so, libtorch_python.so, libtorch_cpu.so and torchvision's
extensions name libtorch_cuda.so, libcudart, cuDNN, NCCL, cuFile and CUPTI as dependencies, so
the loader refuses to start torch when they are missing, although a CPU run never calls them.
This removes them (about 4 GB with triton; the 5.3 GB folder becomes 1.1 GB) and puts in their
place tiny stub libraries with the same names that define just the symbols the kept libraries
import: functions that return an error (C APIs) or 0 (C++), zeroed data. Where torch._C follows
an answer while it loads, the stub gives a real one (see stub_source): c10d::get_gil_checker()
returns a scratch reference (libtorch_python's static initialiser writes through it; a 0 was
the SIGSEGV of the first slimmed folder), typeinfo objects are real std::type_info (pybind11
reads their names), and constructors of classes with a vtable (c10d::ProcessGroupNCCL::Options,
made as a default argument) give the object a vtable that names its class. torch then imports,
finds no CUDA device and runs on the CPU; `torch.cuda.is_available()` is False. One thing is
Python-level and lives in tools/build/pyi_rth_torch_cpu_only.py (a runtime hook build.spec adds):
torch._native's CUDA override graphs are emptied, since they ask for CUDA kernels at import.

    python tools/build/slim_bundle.py dist/SketchStudio    # by hand, on a built folder

Needs a C compiler (`cc`) and binutils' `readelf`. Stubs are built per folder, from the
symbols these exact binaries import, so a new torch gets matching stubs; a new torch may also
follow another answer while loading (a SIGSEGV on `import torch`: run the folder under
`gdb -batch -ex run -ex bt` and give that symbol a real answer here, like C_REF).

Checked on torch 2.14.1+cu130 (README, Build a standalone app): `sketch` decodes the sample
photo in the slimmed folder; build.spec slims by default (SKETCHSTUDIO_SLIM=0: full folder).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Under _internal/: CUDA libraries and packages a CPU app never loads (globs). Removed, and
# stubbed where a kept binary names one as a dependency.
CUDA = [
    "nvidia", "triton", "libtriton.so", "cuda", "cuda_bindings-*.dist-info",
    "torch/lib/libtorch_cuda.so", "torch/lib/libtorch_cuda_linalg.so", "torch/lib/libc10_cuda.so",
    "torch/lib/libtorch_nvshmem.so", "torch/lib/libcaffe2_nvrtc.so",
    "torchvision.libs/libcudart.*", "torchvision.libs/libnvjpeg.*",
]
# Removed only when no kept binary needs them: Qt modules the window never imports (QtMultimedia
# drags in Quick, Qml and the virtual keyboard), translations, test folders that wheels ship.
UNUSED = [
    "PySide6/Qt/lib/libQt6VirtualKeyboard*.so.6", "PySide6/Qt/plugins/platforminputcontexts",
    "PySide6/Qt/lib/libQt6Quick.so.6", "PySide6/Qt/lib/libQt6Qml*.so.6",
    "PySide6/Qt/lib/libQt6Pdf*.so.6", "PySide6/Qt/qml", "PySide6/Qt/translations",
    "**/tests", "torch/include", "torch/share",
]
C_API = re.compile(r"^(cu|nccl|cudnn|nvrtc|nvJitLink|nvshmem|nvjpeg)")  # C functions: return an error
# C functions that return a message string: a real one (callers print it).
C_STRING = re.compile(r"^(cu|nccl|cudnn|nvrtc|nvJitLink|nvjpeg)\w*(GetErrorString|GetErrorName)$")
# C++ functions that return a reference (or a pointer the caller follows) and that a kept
# library calls while loading: they return a zeroed scratch block instead of 0. libtorch_python's
# static initialiser `c10d::get_gil_checker() = &acquire_gil` wrote through the 0 (SIGSEGV).
C_REF = {
    "_ZN4c10d15get_gil_checkerEv",  # c10d::get_gil_checker() -> GilChecker&
    "_ZN4c10d15intra_node_comm28getIntraNodeCommUsageCounterEv",  # -> int64_t&
}
MESSAGE = "CUDA is not part of this CPU-only build"

def elf_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and (".so" in p.name or os.access(p, os.X_OK)):
            with open(p, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def needed(path: Path) -> list[str]:
    text = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", text)


def soname(path: Path) -> str:
    text = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True, text=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[(.+?)\]", text)
    return m.group(1) if m else path.name


def dyn_symbols(path: Path):
    """(name, version or '', type, size, defined) for each dynamic symbol."""
    text = subprocess.run(["readelf", "-W", "--dyn-syms", str(path)], capture_output=True, text=True).stdout
    for line in text.splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].rstrip(":").isdigit() or f[4] == "LOCAL":
            continue
        name, _, version = f[7].partition("@")
        size = int(f[2], 16) if f[2].startswith("0x") else int(f[2])
        yield name, version.lstrip("@"), f[3], size, f[6] != "UND"


def constructed_class(symbol: str) -> str | None:
    """The mangled class name (what follows _ZTI in its typeinfo) if `symbol` is a C++
    constructor (`_ZN 4c10d 16ProcessGroupNCCL 7Options C1E b` -> N4c10d16ProcessGroupNCCL7OptionsE)."""
    m = re.match(r"_ZN((?:\d+[A-Za-z_]\w*?)+?)C[124]E", symbol)
    if not m:
        return None
    parts, rest = [], m.group(1)
    while rest:  # length-prefixed names; a count that does not fit means it was no constructor
        n = re.match(r"\d+", rest)
        if not n or len(rest) < len(n.group()) + int(n.group()):
            return None
        k = len(n.group()) + int(n.group())
        parts.append(rest[:k])
        rest = rest[k:]
    return parts[0] if len(parts) == 1 else "N" + "".join(parts) + "E"


def stub_source(symbols: dict[str, tuple[str, int]], polymorphic: set[str] = frozenset()) -> str:
    """C source defining `symbols` (name -> (ELF type, size)): zeroed data, except typeinfo
    objects, which are real (pybind11 reads their name and hashes it when torch._C registers
    classes such as c10d::ProcessGroupNCCL); functions return an error code (C APIs), a message
    (C_STRING), a scratch block (C_REF) or 0. Constructors of `polymorphic` classes (mangled
    names) give the object a vtable that names its class and whose functions return 0:
    torch._C makes a c10d::ProcessGroupNCCL::Options as a default argument, and pybind11 reads
    its vtable to find its type."""
    lines = ["/* generated by tools/build/slim_bundle.py: CPU-only stand-in */",
             "static char scratch_[4096] __attribute__((aligned(64)));",
             "static long zero_(void) { return 0; }",
             "extern char _ZTVN10__cxxabiv117__class_type_infoE[];"]
    vtables: dict[str, str] = {}
    for name, (kind, size) in sorted(symbols.items()):
        cls = constructed_class(name) if kind == "FUNC" else None
        if cls in polymorphic and cls not in vtables:
            v = vtables[cls] = f"vt{len(vtables)}_"
            lines.append(f'static const void *{v}ti[2] = {{_ZTVN10__cxxabiv117__class_type_infoE + 16, "{cls}"}};')
            lines.append(f"static const void *{v}[2 + 64] = {{0, {v}ti, {', '.join(['zero_'] * 64)}}};")
    for name, (kind, size) in sorted(symbols.items()):
        cls = constructed_class(name) if kind == "FUNC" else None
        if kind == "OBJECT" and name.startswith("_ZTI"):  # std::type_info: {vtable + 16, mangled name}
            lines.append(f'const void *{name}[2] = {{_ZTVN10__cxxabiv117__class_type_infoE + 16, "{name[4:]}"}};')
        elif kind == "OBJECT" and name.startswith("_ZTS"):  # the type's mangled name
            lines.append(f'const char {name}[] = "{name[4:]}";')
        elif kind == "OBJECT":
            lines.append(f"char {name}[{max(size, 8)}] __attribute__((aligned(16)));")
        elif kind == "TLS":
            lines.append(f"__thread char {name}[{max(size, 8)}];")
        elif cls in vtables:
            lines.append(f"void {name}(const void **self) {{ *self = {vtables[cls]} + 2; }}")
        elif C_STRING.match(name):
            lines.append(f'const char *{name}(void) {{ return "{MESSAGE}"; }}')
        elif name in C_REF:
            lines.append(f"void *{name}(void) {{ return scratch_; }}")
        else:
            lines.append(f"long {name}(void) {{ return {100 if C_API.match(name) else 0}; }}")
    return "\n".join(lines) + "\n"


def build_stub(name: str, symbols: dict[str, tuple[str, int]], versions: dict[str, str], out: Path, tmp: Path,
               polymorphic: set[str] = frozenset()) -> None:
    c = tmp / f"{name}.c"
    c.write_text(stub_source(symbols, polymorphic))
    cmd = ["cc", "-shared", "-fPIC", "-O0", "-w", "-fno-builtin", f"-Wl,-soname,{name}", "-o", str(out), str(c)]
    cmd.append("-lstdc++")  # __class_type_info's vtable
    named = sorted(set(versions.values()) - {""})
    if named:  # the kept libraries ask for versioned symbols (libcudart.so.13, ...): define those nodes
        vs = tmp / f"{name}.map"
        nodes = {v: [s for s, sv in versions.items() if sv == v] for v in named}
        nodes[named[0]] += [s for s, sv in versions.items() if sv == ""]
        vs.write_text("".join(f"{v} {{ global: {' '.join(f'{s};' for s in syms)} }};\n" for v, syms in nodes.items()))
        cmd.insert(1, f"-Wl,--version-script={vs}")
    subprocess.run(cmd, check=True)


def _is_elf(p: Path) -> bool:
    with open(p, "rb") as f:
        return f.read(4) == b"\x7fELF"


def _files(p: Path) -> list[Path]:
    if p.is_symlink() or p.is_file():
        return [p]
    return [q for q in p.rglob("*") if q.is_file() and not q.is_symlink()]


def _delete(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.is_symlink() or p.exists():
        p.unlink()


def _drop_dangling_links(internal: Path) -> None:
    """PyInstaller links libX.so at the top to where it lies (nvidia/.../libX.so)."""
    for p in internal.iterdir():
        if p.is_symlink() and not p.exists():
            p.unlink()


def make_stubs(internal: Path, removed: dict[str, Path]) -> dict[str, int]:
    """Build in `internal` a stub for each removed library (name -> a copy of the real one) that a
    kept binary needs; returns the number of symbols in each."""
    # 3. Stubs. A kept binary's undefined symbols that no kept library defines came from the
    # removed ones, directly or through their own dependencies (libtorch_python.so takes
    # c10d's nvshmem symbols from libtorch_nvshmem.so, a dependency of libtorch_cuda.so).
    # Each goes into the stub of a removed library the binary names itself. Symbols a kept
    # library defines are never stubbed: a stub must not stand in for real code.
    defs: dict[str, dict[str, tuple[str, str, int]]] = {}  # library -> symbol -> (version, type, size)
    for name, lib in removed.items():
        defs[name] = {n: (v, t, size) for n, v, t, size, d in dyn_symbols(lib) if d}
    elves = {lib: needed(lib) for lib in elf_files(internal) if lib.name not in removed}  # not old stubs
    by_name = {lib.name: lib for lib in elves}
    consumers = {lib: deps for lib, deps in elves.items() if any(d in removed for d in deps)}
    closure, todo = set(), [d for deps in consumers.values() for d in deps if d in by_name]
    while todo:
        d = todo.pop()
        if d not in closure:
            closure.add(d)
            todo += [e for e in elves[by_name[d]] if e in by_name]
    kept_defined = {n for d in closure for n, _v, _t, _s, defined in dyn_symbols(by_name[d]) if defined}
    wanted: dict[str, dict[str, tuple[str, int]]] = {}
    versions: dict[str, dict[str, str]] = {}
    for lib, deps in consumers.items():
        direct = [d for d in deps if d in removed]
        for d in direct:  # a stub for every removed library it names, even one it takes nothing from
            wanted.setdefault(d, {})
            versions.setdefault(d, {})
        for n, v, _t, _s, defined in dyn_symbols(lib):
            if defined or n in kept_defined or v.startswith(("GLIBC", "GCC", "CXXABI", "GLIBCXX")):
                continue
            for d in direct + sorted(removed):  # its own dependencies first
                hit = defs[d].get(n)
                if hit is not None and v in ("", hit[0]):
                    home = d if d in direct else direct[0]
                    wanted[home][n] = hit[1:]
                    versions[home][n] = hit[0] if home == d else ""
                    break
    with tempfile.TemporaryDirectory() as tmp:
        for d, syms in wanted.items():
            polymorphic = {n[4:] for n in defs[d] if n.startswith("_ZTI")}  # classes with a vtable there
            build_stub(d, syms, versions[d], internal / d, Path(tmp), polymorphic)
    return {d: len(syms) for d, syms in sorted(wanted.items())}


def unused_to_remove(internal: Path) -> list[Path]:
    """The UNUSED parts no kept binary needs. Repeated until nothing changes: a part kept
    because a kept binary needs it keeps what it needs in turn (the multimedia plugin needs
    libQt6Quick, which needs libQt6QmlMeta; dropping that left Qt with no camera backend)."""
    unused = sorted({p for pattern in UNUSED for p in internal.glob(pattern)}, key=lambda p: len(p.parts))
    unused = [p for i, p in enumerate(unused) if not any(q in p.parents for q in unused[:i])]
    files = {p: _files(p) for p in unused}
    elves = {f: needed(f) for f in elf_files(internal)}
    while True:
        gone = {f for p in unused for f in files[p]}
        kept_needs = {d for f, deps in elves.items() if f not in gone for d in deps}
        still = [p for p in unused if not any(f.name in kept_needs for f in files[p] if ".so" in f.name)]
        if still == unused:
            return unused
        unused = still


def slim(internal: Path) -> dict:
    """Remove CUDA and unused parts from `internal` (the bundle's _internal folder) and stub
    every removed CUDA library that a kept binary still needs. Returns what it did."""
    # 1. Unused parts, but only those no kept binary needs.
    dropped_unused = []
    for p in unused_to_remove(internal):
        _delete(p)
        dropped_unused.append(str(p.relative_to(internal)))
    _drop_dangling_links(internal)

    # 2. CUDA: keep a link to each real library (to read its symbols), then delete.
    removed: dict[str, Path] = {}  # file name and soname -> the real library
    keep_dir = Path(tempfile.mkdtemp(prefix="slim-bundle-"))
    try:
        victims = sorted({p for pattern in CUDA for p in internal.glob(pattern)}, key=lambda p: len(p.parts))
        for p in victims:
            if not p.exists():
                continue
            for lib in _files(p):
                if ".so" in lib.name and not lib.is_symlink() and _is_elf(lib):
                    copy = keep_dir / f"{len(removed)}-{lib.name}"
                    try:
                        os.link(lib, copy)
                    except OSError:
                        shutil.copy(lib, copy)
                    # Kept binaries name it by either (auditwheel renames: libcudart.faf08d9a.so.13).
                    removed.setdefault(lib.name, copy)
                    removed.setdefault(soname(lib), copy)
            _delete(p)
        _drop_dangling_links(internal)

        stubs = make_stubs(internal, removed)
        return {"unused removed": dropped_unused, "cuda removed": sorted(set(removed)),
                "stubs (symbols)": stubs}
    finally:
        shutil.rmtree(keep_dir, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", help="the built app folder (dist/SketchStudio) or its _internal")
    args = ap.parse_args(argv)
    root = Path(args.folder)
    internal = root / "_internal" if (root / "_internal").is_dir() else root
    print(slim(internal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
