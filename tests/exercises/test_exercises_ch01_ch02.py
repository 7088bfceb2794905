import torch

from nlpcourse.exercises.ch01 import (
    check_frozen_trainable,
    check_gru_cell,
    check_lstm_parameters,
)


def test_check_lstm_parameters(capsys):
    assert check_lstm_parameters(24_832, 25_088)
    assert not check_lstm_parameters(25_088, 24_832)
    assert "swapped" in capsys.readouterr().out
    assert not check_lstm_parameters(12_416, 12_544)  # one direction only
    capsys.readouterr()
    assert not check_lstm_parameters(None, None)
    assert capsys.readouterr().out == ""  # unanswered: silent


def test_check_frozen_trainable():
    assert check_frozen_trainable(74_881)
    assert not check_frozen_trainable(714_881)
    assert not check_frozen_trainable(640_000)
    assert not check_frozen_trainable(None)


def gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    r_x, z_x, n_x = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
    r_h, z_h, n_h = (h @ weight_hh.T + bias_hh).chunk(3, dim=-1)
    r, z = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
    return (1 - z) * torch.tanh(n_x + r * n_h) + z * h


def test_check_gru_cell(capsys):
    assert check_gru_cell(gru_cell)
    assert "Correct" in capsys.readouterr().out
    assert check_gru_cell(None) is None
    assert capsys.readouterr().out == ""

    def swapped(x, h, *weights):
        z_free = gru_cell(x, h, *weights)
        r_x, z_x, n_x = (x @ weights[0].T + weights[2]).chunk(3, -1)
        r_h, z_h, n_h = (h @ weights[1].T + weights[3]).chunk(3, -1)
        z = torch.sigmoid(z_x + z_h)
        return z_free + (2 * z - 1) * (torch.tanh(n_x + torch.sigmoid(r_x + r_h) * n_h) - h)

    assert check_gru_cell(swapped) is False
    assert "swapped" in capsys.readouterr().out

    def reset_outside(x, h, weight_ih, weight_hh, bias_ih, bias_hh):  # r * (W h) + b: wrong
        r_x, z_x, n_x = (x @ weight_ih.T + bias_ih).chunk(3, dim=-1)
        r_h, z_h, n_h = (h @ weight_hh.T).chunk(3, dim=-1)
        b_r, b_z, b_n = bias_hh.chunk(3)
        r, z = torch.sigmoid(r_x + r_h + b_r), torch.sigmoid(z_x + z_h + b_z)
        return (1 - z) * torch.tanh(n_x + r * n_h + b_n) + z * h

    assert check_gru_cell(reset_outside) is False
    assert "reset gate" in capsys.readouterr().out
    assert check_gru_cell(lambda *a: a[1][:, :1]) is False
    assert "shape" in capsys.readouterr().out
    assert check_gru_cell(lambda *a: 1 / 0) is False
    assert check_gru_cell("gru") is False
