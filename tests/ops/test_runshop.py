"""README's first command, `manage.py runshop`, run a second time while the shop is already up."""

import socket

import pytest
from django.core.management import CommandError, call_command


def test_a_second_runshop_on_a_taken_address_stops_before_starting_anything():
    # runserver would end the process on the taken port and leave the task worker it started running
    with socket.socket() as shop:
        shop.bind(("127.0.0.1", 0))
        shop.listen()
        port = shop.getsockname()[1]
        with pytest.raises(CommandError, match=f"127.0.0.1:{port} is already in use: is the shop already running"):
            call_command("runshop", f"127.0.0.1:{port}", "--no-demo")
