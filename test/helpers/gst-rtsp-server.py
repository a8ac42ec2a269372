#!/usr/bin/python3
"""A real, independent RTSP server for recorder tests: Debian's GStreamer
gst-rtsp-server (not code written in this project), so the recorder is proven
against a server whose RTSP/RTP behaviour we did not shape ourselves.

Run with the SYSTEM python (/usr/bin/python3): python3-gi and
gir1.2-gst-rtsp-server-1.0 are Debian packages installed for it, not for a
pyenv interpreter.

Prints one line `READY <port>` on stdout once listening, then serves until
SIGTERM/SIGINT. Port 0 asks the kernel for an ephemeral port.

Sources:
  live (default): videotestsrc encoded on the fly (x264enc when the -ugly
      plugins are present, otherwise openh264enc from -bad); optional AAC audio.
  --file F.mp4: a pre-encoded H.264 MP4 streamed by stream copy in real time
      (no encode cost: for benchmarks). Each client gets its own pipeline from
      the start of the file, so the file must outlast the session.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def video_encoder(args):
    # key-int / gop-size = fps x gop seconds: cameras send one IDR per GOP, and
    # the recorder's segment boundaries and clip starts rely on those keyframes.
    gop = max(1, int(round(args.fps * args.gop)))
    if Gst.ElementFactory.find("x264enc"):
        return (
            f"x264enc tune=zerolatency key-int-max={gop} bitrate={args.bitrate} "
            "speed-preset=ultrafast"
        )
    if Gst.ElementFactory.find("openh264enc"):
        return f"openh264enc gop-size={gop} bitrate={args.bitrate * 1000} rate-control=bitrate complexity=low"
    sys.exit("no H.264 encoder in GStreamer (need x264enc or openh264enc)")


def launch_line(args):
    if args.file:
        # `filesrc ! qtdemux` is not live; the RTSP server's sinks sync to the
        # pipeline clock, so the file is sent at its own frame rate.
        return (
            f"( filesrc location={args.file} ! qtdemux ! h264parse config-interval=-1 "
            "! rtph264pay name=pay0 pt=96 )"
        )
    video = (
        f"videotestsrc is-live=true pattern={args.pattern} "
        f"! video/x-raw,width={args.width},height={args.height},framerate={args.fps}/1 "
        f"! videoconvert ! {video_encoder(args)} ! video/x-h264,profile=constrained-baseline "
        "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96"
    )
    audio = ""
    if args.audio:
        audio = (
            " audiotestsrc is-live=true wave=sine ! audio/x-raw,rate=16000,channels=1 "
            "! audioconvert ! avenc_aac ! aacparse ! rtpmp4gpay name=pay1 pt=97"
        )
    return f"( {video}{audio} )"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mount", action="append", help="path like /cam (repeatable)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=240)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--gop", type=float, default=1.0, help="seconds between keyframes")
    p.add_argument("--bitrate", type=int, default=300, help="kbit/s")
    p.add_argument("--pattern", default="ball")
    p.add_argument("--audio", action="store_true")
    p.add_argument("--file")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--shared", action="store_true", help="one pipeline for all clients of a mount")
    args = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")  # loopback only: tests never send traffic off the machine
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    line = launch_line(args)

    permissions = None
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password or ""), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)

    for mount in args.mount or ["/cam"]:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(line)
        factory.set_shared(args.shared)
        # The factory's default protocols are UDP, UDP multicast and TCP: the recorder
        # defaults to TCP interleaved and offers UDP, and both are tested.
        if permissions is not None:
            factory.set_permissions(permissions)
        mounts.add_factory(mount, factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        sys.exit(f"could not listen on port {args.port}")
    print(f"READY {server.get_bound_port()}", flush=True)

    def stop(*_):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, stop)
    loop.run()


if __name__ == "__main__":
    main()
