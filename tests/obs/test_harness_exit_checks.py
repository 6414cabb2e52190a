"""How the harness judges an OBS exit: only OBS's own known crash, after the filters are gone, passes.

The backtraces are shaped like gdb's output on the cores CI's OBS left (frames shortened).
"""

from __future__ import annotations

from .harness import StopResult, known_upstream_crash, upstream_exit_crash

WEBSOCKET_ACCEPT_CRASH = """\
Program terminated with signal SIGSEGV, Segmentation fault.
#0  0x00007f85d62d75a3 in asio::detail::reactive_socket_service_base::start_op(...) () from obs-websocket.so
#1  0x00007f85d62fee8f in websocketpp::server<websocketpp::config::asio>::start_accept(std::error_code&) ()
#2  0x00007f85d62ff309 in websocketpp::server<websocketpp::config::asio>::handle_accept(...) ()
#11 0x00007f85d62c7214 in WebSocketServer::ServerRunner() () from obs-websocket.so
* 1    Thread 0x7f85cd1ff6c0 (LWP 18186) 0x00007f85d62d75a3 in asio::detail::reactive_socket_service_base::start_op
"""
FILTER_CRASH = """\
Program terminated with signal SIGSEGV, Segmentation fault.
#0  0x00007f0000001000 in PyGILState_Ensure () from libpython3.14.so.1.0
#1  0x00007f0000002000 in ?? () from _ctypes.cpython-314-x86_64-linux-gnu.so
#5  0x00007f0000003000 in obs_source_destroy_defer () from libobs.so.0
  7    Thread 0x7f85cd1ff6c0 (LWP 18190) WebSocketServer::ServerRunner() start_accept
"""


WIDGET_SIGNAL_CRASH = """\
Program terminated with signal SIGSEGV, Segmentation fault.
#0  0x00007f8742383f12 in ?? () from libc.so.6
#1  0x00007f8745187588 in signal_handler_disconnect () from libobs.so.0
#2  0x0000565000e6651e in ?? ()
#3  0x00007f8742a2502a in QObjectPrivate::deleteChildren() () from libQt6Core.so.6
#4  0x00007f8743c0c298 in QWidget::~QWidget() () from libQt6Widgets.so.6
#10 0x00007f87429cbab9 in QCoreApplicationPrivate::sendPostedEvents(QObject*, int, QThreadData*) () from libQt6Core.so.6
"""
#: OBS 32's log when that race struck (CI, forky): our filters gone, the scene data not yet cleared.
WIDGET_RACE_LOG = """\
info: [obs-blur] filter 'Blur' created (mode blur, model auto, blur strength 80)
info: [obs-blur] filter 'Blur' created (mode color, model auto, blur strength 20)
info: ==== Shutting down ==================================================
info: [obs-blur] filter 'Blur' destroyed
info: [obs-blur] script unloaded; mask workers stopped; 1 filter(s) alive stay registered until OBS exits
info: [obs-blur] filter 'Blur' destroyed
"""


#: OBS 32.2 at exit in CI (forky, test_add_to_obs): obs-websocket's IO thread, during its unload.
WEBSOCKET_HANDSHAKE_CRASH = """\
Program terminated with signal SIGSEGV, Segmentation fault.
#0  0x00007fc3b884d28c in websocketpp::http::parser::parser::process_header(...) () from obs-websocket.so
[Current thread is 1 (LWP 25390)]
#0  0x00007fc3b884d28c in ?? () from /usr/lib/x86_64-linux-gnu/obs-plugins/obs-websocket.so
#5  0x00007fc3b8852ff4 in void asio::detail::strand_service::dispatch<...>(...) () from obs-websocket.so
#15 0x00007fc3f8b1cf98 in ?? () from libc.so.6
"""
#: Its log: no filter was ever created, the script unloaded, the scene data cleared.
WEBSOCKET_HANDSHAKE_LOG = """\
info: [obs-blur] script loaded: filter 'obs_blur_filter' (Background Blur) registered
info: ==== Shutting down ==================================================
info: [obs-blur] script unloaded; mask workers stopped; 0 filter(s) alive stay registered until OBS exits
info: All scene data cleared
info: [obs-websocket] [obs_module_unload] Shutting down...
"""


def test_the_websocket_handshake_race_at_unload_is_known() -> None:
    expected = "obs-websocket's IO thread reading a client's handshake while its server stops"
    assert known_upstream_crash(WEBSOCKET_HANDSHAKE_CRASH) == expected
    assert upstream_exit_crash(WEBSOCKET_HANDSHAKE_LOG, WEBSOCKET_HANDSHAKE_CRASH) == expected
    assert upstream_exit_crash(WEBSOCKET_HANDSHAKE_LOG, FILTER_CRASH) == ""  # any other crash still fails


def test_the_websocket_accept_race_is_known_and_nothing_else_is() -> None:
    assert known_upstream_crash(WEBSOCKET_ACCEPT_CRASH) == "obs-websocket's IO thread accepting while its server stops"
    assert known_upstream_crash(FILTER_CRASH) == ""  # another thread's line does not count: frames only
    assert known_upstream_crash("") == ""
    assert known_upstream_crash(WIDGET_SIGNAL_CRASH).startswith("OBS's UI disconnecting a deleted widget")


def test_a_crash_while_scene_data_clears_counts_only_once_every_filter_is_destroyed() -> None:
    assert upstream_exit_crash(WIDGET_RACE_LOG, WIDGET_SIGNAL_CRASH).startswith("OBS's UI disconnecting")
    one_alive = WIDGET_RACE_LOG.rsplit("info: [obs-blur] filter 'Blur' destroyed", 1)[0]
    assert upstream_exit_crash(one_alive, WIDGET_SIGNAL_CRASH) == ""  # a filter of ours was still there
    not_unloaded = WIDGET_RACE_LOG.replace("[obs-blur] script unloaded", "[obs-blur] something else")
    assert upstream_exit_crash(not_unloaded, WIDGET_SIGNAL_CRASH) == ""
    assert upstream_exit_crash(WIDGET_RACE_LOG, FILTER_CRASH) == ""  # any other crash still fails


def test_a_clean_exit_needs_code_0_and_the_whole_log_or_a_known_upstream_crash() -> None:
    assert StopResult("WM_DELETE_WINDOW", 1.0, 0, True).ended_cleanly
    assert not StopResult("WM_DELETE_WINDOW", 1.0, 0, False).ended_cleanly  # no leak count logged
    assert not StopResult("WM_DELETE_WINDOW", 0.2, -11, False).ended_cleanly
    upstream = StopResult("WM_DELETE_WINDOW", 0.2, -11, False, "log", "obs-websocket's IO thread accepting")
    assert upstream.ended_cleanly
    assert "upstream_crash=\"obs-websocket's IO thread accepting\"" in repr(upstream)


SHUTDOWN_LOG = """\
info: [obs-blur] filter 'Blur' destroyed
info: All scene data cleared
info: ------------------------------------------------
info: [obs-websocket] [obs_module_unload] Shutting down...
"""


def test_without_a_core_only_a_log_ending_in_obs_websockets_unload_counts() -> None:
    assert upstream_exit_crash(SHUTDOWN_LOG, "").startswith("obs-websocket's IO thread accepting")
    assert upstream_exit_crash(SHUTDOWN_LOG + "info: Freeing OBS context data\n", "") == ""  # died later
    assert upstream_exit_crash(SHUTDOWN_LOG.replace("All scene data cleared", "Not all sources were cleared"), "") == ""
    assert upstream_exit_crash(SHUTDOWN_LOG, FILTER_CRASH) == ""  # a backtrace decides when there is one
    assert upstream_exit_crash(SHUTDOWN_LOG, WEBSOCKET_ACCEPT_CRASH).startswith("obs-websocket's")
