"""minifw.source: the code the lessons display is the installed code, headed by file and line."""
import inspect

import pytest

import minifw as mf


def test_source_heads_each_object_with_its_file_and_line():
    text = mf.source.source(mf.Linear.backward, mf.seed)
    lines, start = inspect.getsourcelines(mf.Linear.backward)
    assert text.startswith(f"# minifw/layers.py, line {start}\ndef backward(")   # dedented method
    assert f"# minifw/seeding.py, line {inspect.getsourcelines(mf.seed)[1]}\ndef seed(" in text
    assert "".join(line[4:] for line in lines) in text


def test_source_refuses_what_has_no_source():
    with pytest.raises(TypeError, match="expected a class, function or method, got int"):
        mf.source.source(3)
    with pytest.raises(TypeError, match="at least one"):
        mf.source.source()


def test_show_prints_without_a_notebook(capsys, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_ipython(name, *args, **kwargs):
        if name.startswith("IPython"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ipython)
    mf.source.show(mf.seed)
    assert capsys.readouterr().out.startswith("# minifw/seeding.py, line ")
