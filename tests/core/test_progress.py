from core.progress import progress_bar


def test_disabled_bar_has_the_interface_and_prints_nothing(capsys):
    with progress_bar(10, "train", enabled=False) as bar:
        bar.update(3)
        bar.set_postfix(loss=0.1)
    assert capsys.readouterr().err == ""


def test_default_is_off_when_stderr_is_not_a_terminal(capsys):
    with progress_bar(10, "train") as bar:  # pytest captures stderr: not a terminal
        bar.update(10)
    assert capsys.readouterr().err == ""


def test_enabled_bar_writes_to_stderr(capsys):
    with progress_bar(4, "train", enabled=True) as bar:
        bar.update(4)
    err = capsys.readouterr().err
    assert "train" in err and "4/4" in err
