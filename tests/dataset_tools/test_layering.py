"""The converters sit on the bottom layer: importing them loads no UnMask library module, no CLI
and no TensorFlow (they run without the framework, and the framework imports them without a circle)."""
import subprocess
import sys

FORBIDDEN = ("unmask.core", "unmask.protect", "unmask.results", "unmask.cli", "tensorflow", "keras")


def test_converters_import_only_bottom_modules():
    code = ("import sys, dataset_tools.pascal_part, dataset_tools.voc, dataset_tools.synthetic; "
            "print(' '.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert {"dataset_tools.pascal_part", "unmask.parts", "unmask.fileio"} <= set(loaded)
    assert [m for m in loaded if m.startswith(FORBIDDEN)] == []
    assert sorted(m for m in loaded if m.startswith("unmask")) == ["unmask", "unmask.fileio", "unmask.parts"]
