"""The fuzz targets over the kept corpus and every past finding (no Atheris needed): what the
fuzzer once broke stays fixed, and each fix gives a clear answer rather than a crash."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest
from conftest import ROOT

FUZZ = ROOT / "fuzz"
sys.path.insert(0, str(FUZZ))

import targets  # noqa: E402
from make_seeds import MAX_SEED, MAX_TOTAL  # noqa: E402


def _inputs(kind: str) -> list[tuple[str, Path]]:
    return [(p.parent.name, p) for p in sorted((FUZZ / kind).glob("*/*"))
            if p.is_file() and p.parent.name in targets.TARGETS]


# Pillow warns about the damaged EXIF some fuzzed inputs carry (what they are for)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning",
                            "ignore:Tag data larger than file:UserWarning")
@pytest.mark.parametrize("target,path", _inputs("corpus") + _inputs("regressions"),
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_target_keeps_its_properties(target, path):
    targets.TARGETS[target](path.read_bytes())


def test_every_module_the_targets_reach_is_instrumented():
    # Atheris instruments only what is imported inside run.py's instrument_imports block; a
    # module a target first imports when it runs is not, and the fuzzer runs blind there
    # (clean_rel, moved to usecases.uploads, had been fuzzed with 4 edges of coverage)
    import ast

    def blurkit_imports(tree) -> set[str]:
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                and n.module and n.module.startswith("blurkit")} | {
                a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names if a.name.startswith("blurkit")}

    reached = blurkit_imports(ast.parse((FUZZ / "targets.py").read_text()))
    run = ast.parse((FUZZ / "run.py").read_text())
    block = next(n for n in ast.walk(run) if isinstance(n, ast.With)
                 and "instrument_imports" in ast.unparse(n.items[0].context_expr))
    instrumented = blurkit_imports(block)
    missing = {m for m in reached
               if not any(i == m or i.startswith(m + ".") for i in instrumented)}
    assert reached and not missing, f"imported by fuzz targets but not instrumented: {missing}"


def test_every_target_has_seeds_and_the_corpus_stays_small():
    for name in targets.TARGETS:
        assert any((FUZZ / "corpus" / name).iterdir()), f"no seeds for {name}"
    sizes = [p.stat().st_size for p in (FUZZ / "corpus").rglob("*") if p.is_file()]
    assert max(sizes) <= MAX_SEED + 8192 and sum(sizes) <= MAX_TOTAL


def test_unknown_setting_is_a_clear_error_in_both_languages(tmp_path):
    from blurkit.config import load_settings
    from blurkit.errors import ConfigError

    (tmp_path / "settings.toml").write_text("[x]\ny = 1\n")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "Okänd inställning 'x'" in err.value.message("sv")
    assert "Unknown setting 'x'" in err.value.message("en")


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def test_mp4_check_reports_short_boxes_and_cut_sizes_instead_of_crashing(tmp_path):
    from blurkit.media.videometa import mp4_problems

    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isom")
    short_tkhd = ftyp + _box(b"moov", _box(b"trak", _box(b"tkhd", bytes(20))))
    path = tmp_path / "short.mp4"
    path.write_bytes(short_tkhd)
    assert "moov/trak/tkhd: box too short for its fields" in mp4_problems(path)
    path.write_bytes(ftyp + struct.pack(">I", 1) + b"mdat" + b"\x00\x00")
    assert any("cut-off 64-bit box size" in p for p in mp4_problems(path))
    deep = b""
    for _ in range(40):
        deep = _box(b"moov", deep)
    path.write_bytes(ftyp + deep)
    assert any("nested deeper" in p for p in mp4_problems(path))
