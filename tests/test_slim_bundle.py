"""tools/build/slim_bundle.py without a PyInstaller build: the stub source, and a tiny fake bundle whose
'CUDA' library is replaced by a stub that its consumer still loads and calls."""
import ctypes
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools" / "build"))
import slim_bundle  # noqa: E402

GIL = "_ZN4c10d15get_gil_checkerEv"  # c10d::get_gil_checker(), returns a reference


def test_stub_source_answers_like_a_missing_device():
    src = slim_bundle.stub_source({
        "cudaGetDeviceCount": ("FUNC", 0), "cudaGetErrorString": ("FUNC", 0), GIL: ("FUNC", 0),
        "_ZN3c104cuda11device_countEv": ("FUNC", 0), "_ZTIN4c10d16ProcessGroupNCCLE": ("OBJECT", 16),
        "some_table": ("OBJECT", 3), "tls_state": ("TLS", 32)})
    assert "long cudaGetDeviceCount(void) { return 100; }" in src  # cudaErrorNoDevice
    assert f'cudaGetErrorString(void) {{ return "{slim_bundle.MESSAGE}"; }}' in src
    assert f"void *{GIL}(void) {{ return scratch_; }}" in src  # callers write through it
    assert "long _ZN3c104cuda11device_countEv(void) { return 0; }" in src  # no CUDA device
    assert '_ZTIN4c10d16ProcessGroupNCCLE[2] = {_ZTVN10__cxxabiv117__class_type_infoE + 16, ' \
           '"N4c10d16ProcessGroupNCCLE"}' in src  # a real std::type_info: pybind11 reads its name
    assert "char some_table[8]" in src and "__thread char tls_state[32];" in src


def _cc(out: Path, source: str, *flags: str) -> None:
    c = out.with_suffix(".c")
    c.write_text(source)
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(out), str(c), *flags], check=True, capture_output=True)
    c.unlink()


@pytest.mark.skipif(not (shutil.which("cc") and shutil.which("readelf")) or sys.platform != "linux",
                    reason="needs cc and readelf (Linux)")
def test_a_removed_library_is_replaced_by_a_stub_its_consumer_loads(tmp_path):
    internal = tmp_path / "_internal"
    cuda = internal / "nvidia" / "cu" / "lib"
    cuda.mkdir(parents=True)
    # Not a real CUDA name: this process has torch's libcudart.so.13 loaded already, and the
    # loader would reuse it instead of the stub.
    _cc(cuda / "libcufake.so.1", f"""
        static void *checker;
        int cudaGetDeviceCount(int *n) {{ *n = 1; return 0; }}
        void **{GIL}(void) {{ return &checker; }}
        char big_unused_kernel[1 << 16];""", "-Wl,-soname,libcufake.so.1")
    # A kept library that needs it, writes through get_gil_checker() while loading (like
    # libtorch_python's static initialiser) and asks for the device count.
    _cc(internal / "libconsumer.so", f"""
        void **{GIL}(void); int cudaGetDeviceCount(int *);
        static int x;
        __attribute__((constructor)) static void init(void) {{ *{GIL}() = &x; }}
        int devices(void) {{ int n = 0; return cudaGetDeviceCount(&n) == 0 ? n : -1; }}""",
        f"-L{cuda}", "-l:libcufake.so.1", "-Wl,-rpath,$ORIGIN")
    for d in ("PySide6/Qt/translations", "pkg/tests"):
        (internal / d).mkdir(parents=True)
        (internal / d / "x.txt").write_text("unused")

    report = slim_bundle.slim(internal)

    assert not (internal / "nvidia").exists() and not (internal / "pkg" / "tests").exists()
    assert not (internal / "PySide6" / "Qt" / "translations").exists()
    stub = internal / "libcufake.so.1"
    assert report["stubs (symbols)"] == {"libcufake.so.1": 2}  # what the consumer imports, no more
    assert stub.stat().st_size < 64 * 1024
    lib = ctypes.CDLL(str(internal / "libconsumer.so"))  # the constructor wrote into the stub's scratch
    assert lib.devices() == -1  # the stub's cudaErrorNoDevice: no CUDA device, not a crash


@pytest.mark.skipif(not (shutil.which("cc") and shutil.which("readelf")) or sys.platform != "linux",
                    reason="needs cc and readelf (Linux)")
def test_an_unused_part_stays_when_a_kept_one_needs_it_even_through_another(tmp_path):
    qt = tmp_path / "_internal" / "PySide6" / "Qt"
    (qt / "lib").mkdir(parents=True)
    (qt / "plugins" / "multimedia").mkdir(parents=True)
    _cc(qt / "lib" / "libQt6QmlMeta.so.6", "int meta(void) { return 1; }", "-Wl,-soname,libQt6QmlMeta.so.6")
    _cc(qt / "lib" / "libQt6Quick.so.6", "int meta(void); int quick(void) { return meta(); }",
        "-Wl,-soname,libQt6Quick.so.6", f"-L{qt / 'lib'}", "-l:libQt6QmlMeta.so.6")
    _cc(qt / "lib" / "libQt6Pdf.so.6", "int pdf(void) { return 2; }", "-Wl,-soname,libQt6Pdf.so.6")
    _cc(qt / "plugins" / "multimedia" / "libffmpegmediaplugin.so", "int quick(void); int f(void) { return quick(); }",
        f"-L{qt / 'lib'}", "-l:libQt6Quick.so.6")
    gone = slim_bundle.unused_to_remove(tmp_path / "_internal")
    assert [p.name for p in gone] == ["libQt6Pdf.so.6"]  # Quick and QmlMeta stay: the plugin needs them
