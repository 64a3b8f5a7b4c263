"""CPU feature detection reads the kernel's flags line."""

from lazy_artist.hardware import cpu_flags, native_bf16


def _cpuinfo(tmp_path, flags: str):
    path = tmp_path / "cpuinfo"
    path.write_text(
        f"processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
    )
    return path


def test_flags_of_the_first_processor(tmp_path):
    assert cpu_flags(_cpuinfo(tmp_path, "fpu sse2 avx2")) == {"fpu", "sse2", "avx2"}


def test_native_bf16_needs_avx512_bf16_or_amx(tmp_path):
    assert native_bf16("cpu", _cpuinfo(tmp_path, "avx2 avx512f")) is False
    assert native_bf16("cpu", _cpuinfo(tmp_path, "avx2 avx512f avx512_bf16")) is True
    assert native_bf16("cpu", _cpuinfo(tmp_path, "amx_bf16 amx_tile")) is True


def test_unknown_when_the_flags_cannot_be_read(tmp_path):
    assert native_bf16("cpu", tmp_path / "missing") is None
    assert native_bf16("cuda", tmp_path / "missing") is True
