"""Build-time only (never in the image): makes a root filesystem smaller without taking away anything the
recognizer, its shell or a package scanner uses.

    python3 slim.py ROOT [PATH ...]

1. Removes the PATHs (globs, relative to ROOT) the Dockerfile names: the package managers, perl, docs,
   Pillow's AVIF and font modules (the server reads PNG, JPEG, GIF, BMP and WEBP only), numpy's test and
   build helpers.
2. Cuts the symbol tables and debug sections off every shared object and executable: what lies past the
   last byte a program header maps is never loaded (uvloop's extension is 13 MB of which 1.5 MB is code).
   Section headers go with them, as `sstrip` does; the dynamic loader reads only program headers.
3. Removes the shared libraries in the system library directory that no remaining ELF file needs (the
   closure of DT_NEEDED), except the ones glibc opens by name (NSS, resolver, libgcc_s).
Prints what it saved.
"""

from __future__ import annotations

import glob
import os
import shutil
import struct
import sys
from pathlib import Path

KEEP_LIBS = ("libc.so", "ld-linux", "libnss_", "libresolv", "libgcc_s", "libpthread", "libdl", "libm.so",
             "librt", "libutil")


def elf_class64(head: bytes) -> bool:
    """A 64-bit little-endian executable or shared object (not a relocatable .o: it has no program headers)."""
    return (head[:4] == b"\x7fELF" and head[4] == 2 and head[5] == 1
            and struct.unpack_from("<H", head, 16)[0] in (2, 3))


def needed(data: bytes) -> list[str]:
    """DT_NEEDED names of an ELF file, read from its dynamic segment through the program headers."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    loads, dynamic = [], None
    for i in range(phnum):
        ptype, _, off, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if ptype == 1:
            loads.append((vaddr, off, filesz))
        elif ptype == 2:
            dynamic = (off, filesz)
    if dynamic is None:
        return []

    def file_offset(addr: int) -> int:
        for vaddr, off, size in loads:
            if vaddr <= addr < vaddr + size:
                return addr - vaddr + off
        raise ValueError("address outside the loaded segments")

    entries, strtab = [], 0
    for j in range(dynamic[0], dynamic[0] + dynamic[1], 16):
        tag, val = struct.unpack_from("<qQ", data, j)
        if tag == 0:
            break
        if tag == 1:
            entries.append(val)
        elif tag == 5:
            strtab = file_offset(val)
    return [data[strtab + v:data.index(b"\0", strtab + v)].decode() for v in entries]


def sstrip(path: Path, data: bytes) -> int:
    """Truncate to the end of what the program headers map; returns the bytes saved."""
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = max([phoff + phentsize * phnum] + [
        off + filesz for _, _, off, _, _, filesz in
        (struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize) for i in range(phnum))])
    if end >= len(data):
        return 0
    head = bytearray(data[:end])
    struct.pack_into("<Q", head, 0x28, 0)  # e_shoff
    struct.pack_into("<HHH", head, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    mode = path.stat().st_mode
    path.write_bytes(bytes(head))
    path.chmod(mode)
    return len(data) - end


def main() -> None:
    root = Path(sys.argv[1])
    removed = 0
    for pattern in sys.argv[2:]:
        for p in glob.glob(str(root / pattern.lstrip("/")), recursive=True):
            path = Path(p)
            if path.is_dir() and not path.is_symlink():
                removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                removed += path.lstat().st_size
                path.unlink()
    libdir = root / "usr/lib/x86_64-linux-gnu"
    stripped, wants, lib_needs = 0, set(), {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as f:
                if not elf_class64(f.read(18)):
                    continue
            data = path.read_bytes()
            try:
                deps = needed(data)
            except (ValueError, struct.error):
                continue  # not a file we understand: leave it whole
            if path.parent == libdir:
                lib_needs[path.name] = deps
            else:
                wants.update(deps)
            stripped += sstrip(path, data)
    unused = 0
    if libdir.is_dir():
        # The closure of DT_NEEDED from everything outside the library directory: a library only another
        # unused library needs goes too.
        by_name = {p.name: os.path.basename(os.path.realpath(p)) for p in libdir.iterdir() if ".so" in p.name}
        keep: set[str] = set()  # real file names
        todo = [w for w in wants if w in by_name] + [n for n in by_name if n.startswith(KEEP_LIBS)]
        while todo:
            real = by_name.get(todo.pop())
            if real and real not in keep:
                keep.add(real)
                todo += [w for w in lib_needs.get(real, []) if w in by_name]
        for name, real in by_name.items():
            path = libdir / name
            if real not in keep and not path.is_dir():
                unused += path.lstat().st_size
                path.unlink()
    print(f"slim: removed {removed / 2**20:.1f} MiB of named paths, {stripped / 2**20:.1f} MiB of symbols and "
          f"debug sections, {unused / 2**20:.1f} MiB of unused libraries")


if __name__ == "__main__":
    main()
