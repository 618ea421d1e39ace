"""Video input and output with PyAV (the FFmpeg libraries inside the wheel; no ffmpeg binary).

Reading
    `probe_video(path)` opens the file by content (any container FFmpeg can demux: MP4, MOV,
    M4V, MKV/WebM, AVI, ...), picks the main video track, decodes its first picture and returns a
    `VideoInfo`. `read_frames(path)` yields every picture once, in presentation order, as an
    upright RGB array (`Frame`). Rotation: the track's display matrix (what older tools show as
    the `rotate` tag; iPhones and Android phones use it for portrait clips) is applied to the
    pixels exactly as the ffmpeg command line's autorotate does, mirrors included, so
    `Frame.rgb` is what a viewer sees. Timestamps are the source's own (`Frame.pts` in
    `Frame.time_base`): variable frame rate clips stay variable.

    Fail-safe: a damaged or truncated clip raises `InputError` instead of yielding a shorter
    video, because frames we never decoded were never checked for faces either and the user
    should learn the copy is incomplete. Truncation is detected both by decoder errors and by the
    decoded pictures ending before the track's declared duration.

Writing
    `VideoWriter(src, dest, info)` encodes H.264 (libx264, CRF, High profile, yuv420p, BT.601
    limited range, tagged) into MP4 with `+faststart`, copies or re-encodes every audio track of
    `src` (interleaved as the video is written by a second demuxer on `src`, never buffering a
    whole clip) and writes nothing else: no container or track metadata, no data/timecode/
    subtitle/cover-art tracks, no chapters, no display matrix, no encoder strings (bitexact
    muxing and AAC encoding; x264's SEI message with its version and settings is removed from
    the bitstream; FFmpeg's "Lavc" banner in copied AAC is blanked; the muxer's empty iTunes
    `udta/meta` box becomes padding). Copied MP3 keeps LAME's padding banner: pass audio="aac"
    to re-encode every track. Before the file gets its final name it is re-read and checked
    (`videometa.output_problems`); any problem -> `OutputError` and nothing at `dest`. Writes go
    to a hidden `.<name>.*.part` file next to `dest` (fsutil.atomic_output): an exception or
    Ctrl-C removes it, a SIGKILL leaves only that temp file for `fsutil.cleanup_partials`.

Odd sizes: yuv420p needs even width and height, so an odd column/row is cropped away (the right
column or bottom row, one pixel; nothing is invented, and the cropped pixel line is not
published). `VideoInfo.out_width/out_height` give the encoded size.

Colour: frames are converted to RGB with the source's matrix and range (untagged HD sources are
assumed BT.709, as players do). The writer converts RGB to BT.601 limited-range YUV with OpenCV
(about 4x faster than swscale's RGB input path: ~1.5 ms vs ~6 ms per 1080p frame here) and
says so in the H.264 VUI (matrix smpte170m, range tv; primaries/transfer BT.709 for HD, SMPTE
170M for SD), so players and platforms that read the tags (all current browsers, ffmpeg) show
the right colours. HDR (HLG/PQ) sources are not tone-mapped: the copy will look flat.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno as _errno
import math
import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from blurkit.errors import InputError, OutputError
from blurkit.fsutil import atomic_output
from blurkit.media import videometa
from blurkit.media.videometa import nal_units as _nal_units

OUTPUT_SUFFIX = ".mp4"
DEFAULT_CRF = 20
DEFAULT_PRESET = "veryfast"
# mp4 muxer: moov first (streams on the web start at once); bitexact = no "Lavf" encoder tag,
# no wall-clock dates, no random ids.
MUXER_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}
# Audio codecs copied packet for packet into MP4; everything else (PCM, FLAC, Vorbis, MP2,
# AMR, DTS...) is re-encoded to AAC, which every platform and player accepts.
COPY_AUDIO_CODECS = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus"})
# Containers whose audio timestamps we trust for packet copy (AVI and raw streams are decoded
# and re-encoded instead: their packets may lack timestamps or carry ADTS framing).
_COPY_FROM_FORMATS = ("mov", "mp4", "matroska", "webm")
# Demuxers that read still pictures (a JPEG opens as a one-frame "video" in FFmpeg).
_IMAGE_FORMATS = {"image2", "gif", "apng", "webp", "ico", "bmp", "tiff", "jpegxl_anim"}
# HEIF/AVIF images open through the mov demuxer; their major brand tells them apart.
_IMAGE_BRANDS = {"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1", "mif2",
                 "miaf", "avif", "avis", "avio"}
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025,
              8000, 7350)
_MAX_PROBE_PACKETS = 600
MAX_STREAMS = 32            # tracks of any kind in one file
MAX_AUDIO_STREAMS = 8       # audio tracks (each is decoded and encoded)
_AV_TIME_BASE = 1_000_000


# --------------------------------------------------------------------------- data types

@dataclass(frozen=True)
class AudioInfo:
    index: int               # stream index in the source container
    codec: str
    channels: int
    sample_rate: int
    copy: bool               # True: packets copied into the MP4; False: re-encoded to AAC

    @property
    def out_codec(self) -> str:
        return self.codec if self.copy else "aac"


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str           # FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
    width: int               # display size AFTER rotation
    height: int
    rotation: int            # clockwise degrees applied to the pixels (0/90/180/270)
    fps: float               # average, for progress/ETA only
    duration: float          # seconds, audio + video span (what the output will last)
    frame_count: int | None  # estimate (exact for MP4/MOV)
    video_codec: str
    audio: tuple[AudioInfo, ...]
    other_streams: tuple[str, ...]   # "data:gpmd", "subtitle:mov_text", "cover-art:mjpeg"...
                                     # DROPPED
    mirrored: bool = False   # the display matrix also mirrors (applied too)
    pix_fmt: str = ""
    stream_index: int = 0    # the video track used
    time_base: Fraction = Fraction(1, 90000)   # of Frame.pts
    start: float = 0.0       # source time that becomes 0 in the output (earliest A/V start)
    video_end: float | None = None   # declared end of the video track, source seconds
    media_end: float | None = None   # declared end of video + audio, source seconds

    @property
    def out_width(self) -> int:
        """Encoded width: `width` rounded down to even (yuv420p)."""
        return self.width & ~1

    @property
    def out_height(self) -> int:
        return self.height & ~1

    @property
    def expected_duration(self) -> float | None:
        """Duration the output should have (audio and video tracks only), seconds."""
        if self.media_end is None:
            return None
        return self.media_end - self.start


@dataclass(frozen=True, eq=False)
class Frame:
    index: int               # 0, 1, 2... in presentation order
    time: float              # seconds from the start of the output timeline
    pts: int                 # source timestamp, in time_base units
    rgb: np.ndarray          # (H, W, 3) uint8, upright (rotation applied), display size
    time_base: Fraction = Fraction(1, 90000)
    duration: int = 0        # source frame duration in time_base units (0 = unknown)
    # (max_side, image, factor): the reduced copy `small(max_side)` gives, made while
    # decoding (read_frames' `small_every`), or None
    reduced: tuple[int, np.ndarray, float] | None = None

    def small(self, max_side: int) -> tuple[np.ndarray, float]:
        """A copy at most `max_side` pixels on its longer side, for detection.

        Returns (image, factor): multiply coordinates found in `image` by `factor` to get
        coordinates in `rgb`. A frame already small enough is returned as is (factor 1.0).
        A copy made while decoding (from the decoded picture, like `read_sampled`) is used
        when there is one for this size; else the RGB picture is scaled down here.
        """
        h, w = self.rgb.shape[:2]
        longest = max(h, w)
        if longest <= max_side:
            return self.rgb, 1.0
        if self.reduced is not None and self.reduced[0] == max_side:
            return self.reduced[1], self.reduced[2]
        import cv2
        scale = max_side / longest
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(self.rgb, size, interpolation=cv2.INTER_AREA)
        return small, w / size[0]


# --------------------------------------------------------------------------- opening

def _path_checks(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputError("video.not_found", path=str(path)) from None
    except OSError as exc:
        raise InputError("video.unreadable", path=str(path),
                         reason=exc.strerror or str(exc)) from None
    import stat
    if not stat.S_ISREG(st.st_mode):
        raise InputError("video.not_a_file", path=str(path))
    if st.st_size == 0:
        raise InputError("video.empty", path=str(path))
    if not os.access(path, os.R_OK):
        raise InputError("video.unreadable", path=str(path), reason=os.strerror(_errno.EACCES))


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:200]


def _open(path: Path):
    import av
    _path_checks(path)
    try:
        return av.open(str(path), metadata_errors="replace")
    except FileNotFoundError:
        raise InputError("video.not_found", path=str(path)) from None
    except PermissionError as exc:
        raise InputError("video.unreadable", path=str(path), reason=_reason(exc)) from None
    except IsADirectoryError:
        raise InputError("video.not_a_file", path=str(path)) from None
    except (av.error.FFmpegError, OSError, ValueError, UnicodeError) as exc:
        raise InputError("video.corrupt", path=str(path), reason=_reason(exc)) from None


def _is_image_container(container) -> str | None:
    """The kind of still image, or None if this container holds moving pictures."""
    name = container.format.name
    first = name.split(",")[0]
    if first in _IMAGE_FORMATS or first.endswith("_pipe"):
        return first.replace("_pipe", "")
    if first == "mov":
        brand = (container.metadata.get("major_brand") or "").strip().lower()
        if brand in _IMAGE_BRANDS:
            return brand
    return None


def _pick_video_stream(container):
    import av
    candidates = []
    for s in container.streams.video:
        disp = s.disposition
        if disp & av.stream.Disposition.attached_pic or disp & av.stream.Disposition.still_image:
            continue
        cc = s.codec_context
        w = cc.width if cc is not None else 0
        h = cc.height if cc is not None else 0
        default = 1 if disp & av.stream.Disposition.default else 0
        candidates.append((-default, -(w * h), s.index, s))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[:3])
    return candidates[0][3]


def _codec_name(s) -> str:
    """The codec's own name ("mp3", "h264"), not the decoder's ("mp3float", "libdav1d")."""
    with contextlib.suppress(Exception):
        if s.codec_context is not None:
            return s.codec_context.codec.canonical_name
    return getattr(s, "name", None) or "unknown"


def _stream_kind(s) -> str:
    """'data:bin_data', 'subtitle:mov_text', 'cover-art:mjpeg', ... (no tags: they may identify)."""
    import av
    codec = _codec_name(s)
    if s.type == "video" and s.disposition & av.stream.Disposition.attached_pic:
        return f"cover-art:{codec}"
    return f"{s.type}:{codec}"


def _declared(s) -> tuple[float | None, float | None]:
    """(start, duration) in seconds as the container declares them for stream `s`.

    Matroska keeps per-track durations in a DURATION tag ("00:00:12.345000000") instead.
    """
    start = _seconds(s.start_time, s.time_base)
    dur = _seconds(s.duration, s.time_base)
    if not dur:
        tag = s.metadata.get("DURATION") or s.metadata.get("duration")
        if tag:
            with contextlib.suppress(ValueError):
                h, m, sec = tag.split(":")
                dur = int(h) * 3600 + int(m) * 60 + float(sec)
    return start, (dur or None)


def _seconds(value, tb) -> float | None:
    if value is None or tb is None:
        return None
    return float(value * tb)


def _orientation(frame) -> tuple[int, bool, str]:
    """(clockwise degrees, mirrored, operation) from a decoded frame's display matrix.

    Mirrors FFmpeg's command-line autorotate (fftools: get_rotation + transpose/hflip/vflip).
    """
    import av
    matrix = None
    for sd in frame.side_data:
        if sd.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            raw = bytes(memoryview(sd))
            if len(raw) >= 36:
                matrix = np.frombuffer(raw[:36], dtype=np.int32)
            break
    if matrix is None:
        return 0, False, "none"
    theta = -round(float(frame.rotation))
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        return (90, True, "transpose") if matrix[3] > 0 else (90, False, "clock")
    if abs(theta - 180) < 1:
        h, v = matrix[0] < 0, matrix[4] < 0
        # both flips = a 180-degree turn; one flip = a mirror
        if h and not v:
            return 0, True, "hflip"
        if v and not h:
            return 180, True, "vflip"  # turn 180, then mirror == flip upside down
        return 180, False, "rot180"
    if abs(theta - 270) < 1:
        return (270, True, "antitranspose") if matrix[3] < 0 else (270, False, "cclock")
    if abs(theta) < 1 and matrix[4] < 0:
        return 180, True, "vflip"
    return 0, False, "none"   # non-right angles are ignored, as ffmpeg does


def _apply_orientation(rgb: np.ndarray, op: str) -> np.ndarray:
    if op == "none":
        return rgb
    if op == "clock":
        out = np.rot90(rgb, -1)
    elif op == "cclock":
        out = np.rot90(rgb, 1)
    elif op == "rot180":
        out = rgb[::-1, ::-1]
    elif op == "transpose":
        out = rgb.transpose(1, 0, 2)
    elif op == "antitranspose":
        out = rgb[::-1, ::-1].transpose(1, 0, 2)
    elif op == "hflip":
        out = rgb[:, ::-1]
    elif op == "vflip":
        out = rgb[::-1]
    else:  # pragma: no cover - defensive
        raise ValueError(op)
    return np.ascontiguousarray(out)



# --------------------------------------------------------------------------- probing

def is_video(path) -> bool:
    """True if FFmpeg can open `path` by its content as a video with moving pictures.

    Still images (JPEG, PNG, WebP, GIF, HEIC/AVIF including motion photos) are not videos here:
    the photo code handles them.
    """
    path = Path(path)
    try:
        container = _open(path)
    except InputError:
        return False
    try:
        if _is_image_container(container):
            return False
        return _pick_video_stream(container) is not None
    finally:
        container.close()


def probe_video(path) -> VideoInfo:
    """Describe a video; `InputError` if it cannot be anonymised safely (see module docs)."""
    import av
    path = Path(path)
    container = _open(path)
    try:
        image = _is_image_container(container)
        if image:
            raise InputError("video.still_image", path=str(path), kind=image)
        # memory budget: every audio track is decoded and encoded at once (a 1-s clip with
        # 900 tracks took 1.6 GB); cameras write one or two, field recorders up to eight
        n_audio = len(container.streams.audio)
        if len(container.streams) > MAX_STREAMS or n_audio > MAX_AUDIO_STREAMS:
            raise InputError("video.too_many_streams", path=str(path),
                             streams=len(container.streams), audio=n_audio,
                             max_streams=MAX_STREAMS, max_audio=MAX_AUDIO_STREAMS)
        vs = _pick_video_stream(container)
        if vs is None:
            raise InputError("video.no_video_stream", path=str(path))
        cc = vs.codec_context
        if cc is None:
            raise InputError("video.unsupported_codec", path=str(path),
                             codec=getattr(vs, "name", None) or "unknown")
        fmt_first = container.format.name.split(",")[0]
        copy_ok = fmt_first in _COPY_FROM_FORMATS or "mp4" in container.format.name
        audio = []
        for s in container.streams.audio:
            acc = s.codec_context
            codec = _codec_name(s)
            copy = codec in COPY_AUDIO_CODECS and copy_ok
            if copy and codec == "aac" and not (acc is not None and acc.extradata_size):
                copy = False   # ADTS-framed AAC: decode and re-encode
            if not copy and acc is None:
                raise InputError("video.audio_unsupported", path=str(path), track=s.index,
                                 codec=codec)
            audio.append(AudioInfo(index=s.index, codec=codec,
                                   channels=(acc.channels if acc is not None else 0) or 0,
                                   sample_rate=(acc.sample_rate if acc is not None else 0) or 0,
                                   copy=copy))
        others = tuple(_stream_kind(s) for s in container.streams
                       if s.index != vs.index and s.type != "audio")

        # decode the first picture: proves the codec works and gives the display matrix
        vs.thread_type = "AUTO"
        first = None
        try:
            for n, packet in enumerate(container.demux(vs)):
                for frame in vs.decode(packet):
                    first = frame
                    break
                if first is not None or n > _MAX_PROBE_PACKETS:
                    break
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            raise InputError("video.corrupt", path=str(path), reason=_reason(exc)) from None
        if first is None:
            raise InputError("video.no_frames", path=str(path))
        rotation, mirrored, _ = _orientation(first)
        w, h = first.width, first.height
        if w <= 0 or h <= 0:
            raise InputError("video.no_frames", path=str(path))
        if rotation in (90, 270):
            w, h = h, w
        from blurkit.media import budget
        b = budget.current()
        if w * h > b.video_pixels:     # memory budget: refused before any frame is processed
            raise InputError("video.too_large_for_memory", path=str(path), width=w, height=h,
                             limit=f"{b.video_pixels / 1e6:.1f}",
                             memory_gb=f"{b.total_mb / 1024:.1f}", budget_mb=b.budget_mb)

        tb = vs.time_base or Fraction(1, 90000)
        c_dur = (container.duration / _AV_TIME_BASE) if container.duration else None
        c_start = ((container.start_time / _AV_TIME_BASE) if container.start_time is not None
                   else 0.0)
        v_start, v_dur = _declared(vs)
        if v_start is None:
            v_start = c_start
        if v_dur is None and len(container.streams) == 1 and c_dur is not None:
            v_dur = c_start + c_dur - v_start
        # video_end None = unknown: the truncation-by-duration check is then skipped
        video_end = (v_start + v_dur) if v_dur else None
        starts, ends, unknown = [v_start], [], video_end is None
        if video_end is not None:
            ends.append(video_end)
        for s in container.streams.audio:
            a_start, a_dur = _declared(s)
            if a_start is not None:
                starts.append(a_start)
            if a_start is not None and a_dur:
                ends.append(a_start + a_dur)
            else:
                unknown = True
        start = min(starts)
        if unknown and c_dur is not None:
            # a track without a declared duration (some AVI/Matroska): use the file's
            ends.append(c_start + c_dur)
        media_end = max(ends) if ends else None

        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else 0.0
        if not (0 < fps < 1000):
            fps = 0.0
        # the audio/video span (data tracks such as GoPro telemetry may report longer)
        duration = (media_end - start) if media_end is not None else (c_dur or v_dur or 0.0)
        frames = vs.frames or None
        if not frames and fps and duration:
            frames = int(round(duration * fps))

        return VideoInfo(
            path=path, container=container.format.name, width=w, height=h,
            rotation=rotation, fps=fps, duration=float(duration), frame_count=frames,
            video_codec=_codec_name(vs), audio=tuple(audio), other_streams=others,
            mirrored=mirrored, pix_fmt=first.format.name, stream_index=vs.index, time_base=tb,
            start=start, video_end=video_end, media_end=media_end,
        )
    finally:
        container.close()


# --------------------------------------------------------------------------- decoding

def _colorspace_args(frame) -> dict:
    """swscale arguments so RGB comes out as a viewer would see it."""
    from av.video.reformatter import ColorRange, Colorspace
    args = {}
    cs = frame.colorspace
    # AVCOL_SPC: 1 bt709, 5 bt470bg, 6 smpte170m, 7 smpte240m, 9 bt2020nc, 2 unspecified
    mapping = {1: Colorspace.ITU709, 5: Colorspace.ITU601, 6: Colorspace.SMPTE170M,
               7: Colorspace.SMPTE240M, 9: Colorspace.BT2020, 10: Colorspace.BT2020,
               4: Colorspace.FCC}
    if cs in mapping:
        args["src_colorspace"] = mapping[cs]
    elif frame.height >= 720 or frame.width >= 1280:
        args["src_colorspace"] = Colorspace.ITU709
    else:
        args["src_colorspace"] = Colorspace.ITU601
    if frame.color_range == 2 or frame.format.name.startswith("yuvj"):
        args["src_color_range"] = ColorRange.JPEG
    return args


def _decode(info: VideoInfo) -> Iterator[tuple[int, object, int, int]]:
    """Every decoded video frame of `info.path`: (index, av_frame, pts, duration)."""
    import av
    path = info.path
    container = _open(path)
    index = 0
    last_pts = None
    last_dur = 0
    try:
        vs = container.streams[info.stream_index]
        vs.thread_type = "AUTO"
        tb = vs.time_base or info.time_base
        default_dur = int(round(1 / (info.fps * tb))) if info.fps and tb else 1
        default_dur = max(default_dur, 1)
        try:
            for packet in container.demux(vs):
                for frame in vs.decode(packet):
                    pts = frame.pts
                    if pts is None:
                        pts = (last_pts + (last_dur or default_dur)) if last_pts is not None else 0
                    if last_pts is not None and pts <= last_pts:
                        pts = last_pts + 1    # never go backwards; the encoder needs order
                    dur = frame.duration or 0
                    yield index, frame, pts, dur
                    index += 1
                    last_pts, last_dur = pts, dur
        except (av.error.FFmpegError, ValueError, OSError, MemoryError) as exc:
            raise InputError("video.decode_failed", path=str(path), frame=index,
                             reason=_reason(exc)) from None
    finally:
        container.close()
    if index == 0:
        raise InputError("video.no_frames", path=str(path))
    # A clip that stops before its declared end was cut off (or the rest is unreadable).
    if info.video_end is not None and last_pts is not None:
        got = float(last_pts * tb) + float((last_dur or default_dur) * tb)
        frame_len = 1 / info.fps if info.fps else 0.04
        if got < info.video_end - max(0.25, 3 * frame_len):
            raise InputError("video.truncated", path=str(path), got=got - info.start,
                             expected=info.video_end - info.start)


def read_frames(path, info: VideoInfo | None = None, *, prefetch: int = 0,
                small_every: int = 0, small_side: int = 0) -> Iterator[Frame]:
    """Every picture of the video as an upright RGB `Frame`, in presentation order.

    `info` may be passed to skip a second probe. `prefetch` > 0 decodes and converts that many
    frames ahead in a background thread (FFmpeg and numpy release the GIL, so decoding overlaps
    with the caller's detection and encoding on multi-core machines).
    With `small_every` > 0, every `small_every`-th frame also carries the copy that
    `Frame.small(small_side)` returns, converted from the decoded picture at the reduced size
    as `read_sampled` does (a quarter of the cost of scaling the RGB picture down, and done
    in the decoding thread).
    Raises `InputError` for a damaged or truncated clip (see the module docstring).
    """
    if info is None:
        info = probe_video(path)
    frames = _frames(info, small_every, small_side)
    if prefetch <= 0:
        yield from frames
        return
    yield from _prefetched(frames, prefetch)


def _frames(info: VideoInfo, small_every: int = 0, small_side: int = 0) -> Iterator[Frame]:
    from av.video.reformatter import VideoReformatter
    reformatter = VideoReformatter()   # reused: building a swscale context per frame is slow
    reducer = VideoReformatter()       # its own context for the reduced size
    op = _op_for(info)
    tb = info.time_base
    origin = _origin_ticks(info)
    args = None
    for index, frame, pts, dur in _decode(info):
        if args is None:
            args = _colorspace_args(frame)
        rgb = reformatter.reformat(frame, format="rgb24", threads=1, **args).to_ndarray()
        rgb = _apply_orientation(rgb, op)
        reduced = None
        if small_every > 0 and index % small_every == 0 and max(rgb.shape[:2]) > small_side:
            small = _reduced(reducer, frame, small_side, args, op)
            reduced = (small_side, small, rgb.shape[1] / small.shape[1])
        yield Frame(index=index, time=float((pts - origin) * tb), pts=pts, rgb=rgb,
                    time_base=tb, duration=dur, reduced=reduced)


def _reduced(reformatter, frame, max_side: int, args: dict, op: str) -> np.ndarray:
    """The decoded picture as upright RGB, at most `max_side` on its longer side, converted
    at that size (swscale's area filter)."""
    from av.video.reformatter import Interpolation
    scale = min(1.0, max_side / max(frame.width, frame.height))
    w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
    rgb = reformatter.reformat(frame, format="rgb24", width=w, height=h, threads=1,
                               interpolation=Interpolation.AREA, **args).to_ndarray()
    return _apply_orientation(rgb, op)


@dataclass(frozen=True, eq=False)
class Sample:
    """One decoded picture in a sampled pass: `rgb` only on sampled pictures."""
    index: int
    rgb: np.ndarray | None   # upright RGB at reduced size, or None (not sampled)
    factor: float            # coordinates in `rgb` x factor = coordinates in the full frame


def read_sampled(path, info: VideoInfo, *, every: int, max_side: int,
                 prefetch: int = 0) -> Iterator[Sample]:
    """Every picture's index, and for every `every`-th picture an upright RGB copy whose
    longer side is at most `max_side`, converted at that size directly (cheaper than full
    RGB + resize). The same fail-safe checks as `read_frames` apply (damaged or truncated
    clips raise InputError)."""
    samples = _samples(info, every, max_side)
    return _prefetched(samples, prefetch) if prefetch > 0 else samples


def _samples(info: VideoInfo, every: int, max_side: int) -> Iterator[Sample]:
    from av.video.reformatter import VideoReformatter
    reformatter = VideoReformatter()
    op = _op_for(info)
    args = None
    for index, frame, _pts, _dur in _decode(info):
        if index % every:
            yield Sample(index, None, 1.0)
            continue
        if args is None:
            args = _colorspace_args(frame)
        rgb = _reduced(reformatter, frame, max_side, args, op)
        yield Sample(index, rgb, max(info.width, info.height) / max(rgb.shape[:2]))


def _op_for(info: VideoInfo) -> str:
    return {(0, False): "none", (90, False): "clock", (180, False): "rot180",
            (270, False): "cclock", (90, True): "transpose", (270, True): "antitranspose",
            (0, True): "hflip", (180, True): "vflip"}[(info.rotation, info.mirrored)]


def _origin_ticks(info: VideoInfo) -> int:
    return math.floor(Fraction(info.start).limit_denominator(10**9) / info.time_base)


_END = object()


def _prefetched(frames: Iterator[Frame], depth: int) -> Iterator[Frame]:
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for f in frames:
                while not stop.is_set():
                    try:
                        q.put(f, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            item = _END
        except BaseException as exc:  # hand the error to the consumer
            item = exc
        finally:
            with contextlib.suppress(Exception):
                frames.close()
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    t = threading.Thread(target=work, name="blurkit-video-decode", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join(timeout=5)


# --------------------------------------------------------------------------- writing

def _strip_sei(packet):
    """Drop SEI NAL units from an H.264 packet: x264 writes its version and full settings there.

    The encoder emits Annex B (start codes); the mp4 muxer converts to length prefixes later.
    """
    buf = bytes(packet)
    annexb = True
    units = _nal_units(buf, annexb=True)
    if units is None:
        annexb = False
        units = _nal_units(buf, annexb=False)
    if not units or not any(buf[a] & 0x1F == 6 for a, b in units if b > a):
        return packet
    parts = []
    for a, b in units:
        if b > a and buf[a] & 0x1F != 6:
            nal = buf[a:b]
            parts.append((b"\x00\x00\x00\x01" if annexb else len(nal).to_bytes(4, "big")) + nal)
    return _repacket(packet, b"".join(parts))


def _repacket(packet, data: bytes):
    """A new packet with `data` and `packet`'s timing and stream."""
    import av
    new = av.Packet(data)
    new.pts, new.dts = packet.pts, packet.dts
    new.time_base = packet.time_base
    new.duration = packet.duration
    new.is_keyframe = packet.is_keyframe
    new.stream = packet.stream
    return new


def _scrub_aac_fill(packet):
    """Blank the payload of a filler element at the start of a raw AAC frame.

    FFmpeg's AAC encoder (without bitexact) writes its version ("Lavc58.54.100") as filler at the
    start of every 256th frame; copied audio would carry the source's encoder banner. Filler
    (extension types EXT_FILL / EXT_FILL_DATA) is ignored by decoders by definition, so its bits
    are overwritten in place: same length, same decoded sound (the tests compare the PCM).
    Other extension types (SBR, PS, data elements) are left alone.
    """
    buf = bytes(packet)
    if len(buf) < 3 or buf[0] >> 5 != 6:          # first syntax element is not ID_FIL
        return packet
    bits = _Bits(bytearray(buf))
    bits.pos = 3
    count = bits.read(4)
    if count == 15:
        count += bits.read(8) - 1
    start = bits.pos
    if count < 1 or start + 8 * count > 8 * len(buf):
        return packet
    ext_type = bits.read(4)
    if ext_type == 0:                             # EXT_FILL: any bits
        bits.write_zeros(start + 4, start + 8 * count)
    elif ext_type == 1:                           # EXT_FILL_DATA: nibble 0000, bytes 10100101
        bits.write_zeros(start + 4, start + 8)
        for k in range(1, count):
            bits.write_byte(start + 8 * k, 0xA5)
    else:
        return packet
    if bytes(bits.data) == buf:
        return packet
    return _repacket(packet, bytes(bits.data))


class _Bits:
    """Minimal MSB-first bit access over a bytearray (for `_scrub_aac_fill`)."""

    def __init__(self, data: bytearray) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def write_zeros(self, begin: int, end: int) -> None:
        for p in range(begin, end):
            self.data[p >> 3] &= ~(1 << (7 - (p & 7))) & 0xFF

    def write_byte(self, begin: int, value: int) -> None:
        for i in range(8):
            p = begin + i
            mask = 1 << (7 - (p & 7))
            if (value >> (7 - i)) & 1:
                self.data[p >> 3] |= mask
            else:
                self.data[p >> 3] &= ~mask & 0xFF


class _AudioPump:
    """Moves the audio of `src` into `out` as the video advances (a second demuxer)."""

    def __init__(self, src: Path, out, info: VideoInfo) -> None:
        import av
        self.info = info
        self.tracks = info.audio
        self.aac_copy = {t.index for t in info.audio if t.copy and t.codec == "aac"}
        self.container = None
        self.out_streams = {}
        self.decoders = {}
        self.next_sample: dict[int, int] = {}
        self.pending = None
        self.done = not self.tracks
        if not self.tracks:
            return
        self.container = _open(src)
        in_streams = []
        for track in self.tracks:
            s = self.container.streams[track.index]
            in_streams.append(s)
            if track.copy:
                o = out.add_stream_from_template(s)
            else:
                cc = s.codec_context
                rate = cc.sample_rate if cc.sample_rate in _AAC_RATES else 48000
                channels = cc.channels or 2
                o = out.add_stream("aac", rate=rate, options={"flags": "+bitexact"})
                try:
                    o.layout = av.AudioLayout(channels if channels <= 8 else 2).name
                except Exception:
                    o.layout = "stereo"
                o.bit_rate = 128000 if channels <= 2 else 64000 * min(channels, 8)
                o.time_base = Fraction(1, rate)
                s.thread_type = "AUTO"
                self.decoders[track.index] = s
            self.out_streams[track.index] = o
        self.iter = self.container.demux(*in_streams)
        self.origin = {t.index: math.floor(Fraction(info.start).limit_denominator(10**9)
                                           / self.container.streams[t.index].time_base)
                       for t in self.tracks}

    def _next(self):
        for packet in self.iter:
            return packet
        return None

    @staticmethod
    def _time(packet) -> float | None:
        ts = packet.dts if packet.dts is not None else packet.pts
        if ts is None or packet.time_base is None:
            return None
        return float(ts * packet.time_base)

    def pump(self, until: float | None, mux) -> None:
        """Mux audio up to source time `until` (None = everything)."""
        import av
        if self.done:
            return
        while True:
            try:
                packet = self.pending if self.pending is not None else self._next()
            except (av.error.FFmpegError, OSError) as exc:
                raise InputError("video.audio_damaged", path=str(self.info.path), track="?",
                                 reason=_reason(exc)) from None
            self.pending = None
            if packet is None:
                self._flush(mux)
                self.done = True
                return
            t = self._time(packet)
            if until is not None and t is not None and t > until:
                self.pending = packet
                return
            self._handle(packet, mux)

    def _handle(self, packet, mux) -> None:
        idx = packet.stream.index
        origin = self.origin[idx]
        if idx in self.decoders:
            import av
            try:
                frames = self.decoders[idx].decode(packet)
            except (av.error.FFmpegError, ValueError) as exc:
                raise InputError("video.audio_damaged", path=str(self.info.path), track=idx,
                                 reason=_reason(exc)) from None
            for frame in frames:
                self._encode(idx, frame, mux)
            return
        if packet.size == 0 or (packet.dts is None and packet.pts is None):
            return
        if packet.pts is not None:
            packet.pts -= origin
        if packet.dts is not None:
            packet.dts -= origin
        packet.stream = self.out_streams[idx]
        if idx in self.aac_copy:
            packet = _scrub_aac_fill(packet)
        mux(packet)

    def _encode(self, idx: int, frame, mux) -> None:
        """Re-encode one decoded audio frame with sample-exact, monotonic timestamps.

        Timestamps are rebased to 1/sample_rate (AVI and some MP3 streams use time bases like
        1152/44100 that cannot express the encoder's 1024-sample frames) and chained sample by
        sample; only a real jump (> 50 ms, a gap in the recording) is followed.
        """
        rate = frame.sample_rate
        expected = self.next_sample.get(idx)
        start = None
        if frame.pts is not None and frame.time_base is not None:
            start = round(float((frame.pts - self.origin[idx]) * frame.time_base) * rate)
        if start is None or (expected is not None
                             and (start < expected or abs(start - expected) < 0.05 * rate)):
            start = expected if expected is not None else 0
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        self.next_sample[idx] = start + frame.samples
        for p in self.out_streams[idx].encode(frame):
            mux(p)

    def _flush(self, mux) -> None:
        import av
        for idx, dec in self.decoders.items():
            out = self.out_streams[idx]
            try:
                rest = dec.decode(None)
            except av.error.EOFError:     # the demuxer's end-of-stream packet already drained it
                rest = []
            for frame in rest:
                self._encode(idx, frame, mux)
            for p in out.encode(None):
                mux(p)

    def close(self) -> None:
        if self.container is not None:
            self.container.close()
            self.container = None


class VideoWriter:
    """Encode anonymised frames of `src` to `dest` (MP4), with `src`'s audio; see module docs.

        with VideoWriter(src, dest, info) as out:
            for frame in read_frames(src, info):
                out.write(frame, redact(frame.rgb))
        # leaving the block normally = close(): flush, verify, publish at dest
        # leaving it with an exception (or Ctrl-C): nothing at dest, temp file removed

    `dest` must end in .mp4. An existing `dest` is never replaced unless overwrite=True
    (`OutputError` "video.output_exists").

    audio="copy" (default) copies the packets of AAC, MP3, AC-3, E-AC-3, ALAC and Opus tracks
    (no generation loss; FFmpeg's AAC version banner is blanked, see `_scrub_aac_fill`) and
    re-encodes the others to AAC; audio="aac" re-encodes every track, so every byte of the
    output was produced here (no encoder banner of any kind can survive, e.g. LAME's in MP3).
    """

    def __init__(self, src, dest, info: VideoInfo, *, crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET, overwrite: bool = False, audio: str = "copy",
                 _colour: tuple[int, int, int, int] | None = None) -> None:
        import av
        self.src = Path(src)
        self.dest = Path(dest)
        if self.dest.suffix.lower() != OUTPUT_SUFFIX:
            raise ValueError(f"video output must end in {OUTPUT_SUFFIX}: {self.dest}")
        if not overwrite and self.dest.exists():
            raise OutputError("video.output_exists", path=str(self.dest))
        if audio not in ("copy", "aac"):
            raise ValueError(f"audio must be 'copy' or 'aac', not {audio!r}")
        if audio == "aac":
            info = dataclasses.replace(
                info, audio=tuple(dataclasses.replace(a, copy=False) for a in info.audio))
        self.info = info
        self.crf = crf
        self.preset = preset
        self._frames = 0
        self._last_index = -1
        self._last_pts = None
        self._closed = False
        self._origin = _origin_ticks(info)
        self._stack = contextlib.ExitStack()
        self._tmp = None
        self._out = None
        self._audio = None
        try:
            self._tmp = self._stack.enter_context(atomic_output(self.dest, overwrite=overwrite))
            self._out = av.open(str(self._tmp), "w", format="mp4", container_options=MUXER_OPTIONS)
            self._video = _add_video_stream(self._out, info, crf=crf, preset=preset, colour=_colour)
            self._audio = _AudioPump(self.src, self._out, info)
        except BaseException as exc:
            self._abort(exc)
            if isinstance(exc, (InputError, OutputError)):
                raise
            if isinstance(exc, Exception):
                raise OutputError("video.write_failed", path=str(self.dest),
                                  reason=_reason(exc)) from exc
            raise

    # -- public API

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self._abort(exc)
            return False
        self.close()
        return False

    @property
    def temp_path(self) -> Path:
        """The hidden `.part` file being written (for progress display and tests)."""
        return self._tmp

    @property
    def frames_written(self) -> int:
        return self._frames

    def write(self, frame: Frame, rgb: np.ndarray) -> None:
        """Encode `rgb` (the anonymised picture of `frame`) at `frame`'s source timestamp."""
        self.write_yuv(frame, self.to_yuv(rgb))

    def to_yuv(self, rgb: np.ndarray) -> np.ndarray:
        """The encoder's input for the picture `rgb` (checked; odd edge cropped; BT.601
        limited-range I420). Reads nothing but the clip's size, so another thread may
        convert the next pictures while this one encodes (`write_yuv`)."""
        h, w = self.info.height, self.info.width
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[:2] != (h, w):
            raise ValueError(f"expected a ({h}, {w}, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
        import cv2
        oh, ow = self.info.out_height, self.info.out_width
        if (oh, ow) != (h, w):
            rgb = rgb[:oh, :ow]
        if not rgb.flags.c_contiguous:
            rgb = np.ascontiguousarray(rgb)
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)

    def write_yuv(self, frame: Frame, yuv: np.ndarray) -> None:
        """Encode `yuv` (from `to_yuv`) as the picture of `frame`."""
        if self._closed:
            raise RuntimeError("VideoWriter is closed")
        oh, ow = self.info.out_height, self.info.out_width
        if yuv.dtype != np.uint8 or yuv.shape != (oh * 3 // 2, ow):
            raise ValueError(f"expected a ({oh * 3 // 2}, {ow}) uint8 I420 array, got "
                             f"{yuv.shape} {yuv.dtype}")
        if frame.index <= self._last_index:
            raise ValueError(f"frames must be written in order "
                             f"({frame.index} after {self._last_index})")
        import av
        vf = av.VideoFrame.from_numpy_buffer(yuv, format="yuv420p")
        self._last_index = frame.index
        self._guarded(self._encode, vf, frame.pts, frame.duration)

    def close(self) -> None:
        """Flush, finish the audio, faststart, verify, publish at `dest` (once)."""
        if self._closed:
            return
        try:
            if self._frames == 0:
                raise OutputError("video.write_failed", path=str(self.dest),
                                  reason="no frames were written")
            for packet in self._video.encode(None):
                self._mux(packet)
            self._audio.pump(None, self._mux)
            self._audio.close()
            self._out.close()
            videometa.blank_boxes(self._tmp)   # the muxer's empty iTunes udta/meta -> padding
            self._verify()
            self._closed = True
            try:
                self._stack.close()      # fsync + atomic, no-overwrite rename
            except FileExistsError:
                raise OutputError("video.output_exists", path=str(self.dest)) from None
        except BaseException as exc:
            self._abort(exc)
            if isinstance(exc, (OutputError, InputError)) or not isinstance(exc, Exception):
                raise
            raise OutputError("video.write_failed", path=str(self.dest),
                              reason=_reason(exc)) from exc

    def abort(self) -> None:
        """Give up: close everything and remove the temporary file."""
        self._abort(None)

    # -- internals

    def _guarded(self, fn, *args) -> None:
        """Run an encode/mux step; any failure aborts (temp removed) and is reported in one line."""
        import av
        try:
            fn(*args)
        except (InputError, OutputError) as exc:
            self._abort(exc)
            raise
        except (av.error.FFmpegError, OSError, MemoryError) as exc:
            self._abort(exc)
            raise OutputError("video.write_failed", path=str(self.dest),
                              reason=_reason(exc)) from exc

    def _encode(self, vf, pts: int, duration: int) -> None:
        out_pts = pts - self._origin
        if self._last_pts is not None and out_pts <= self._last_pts:
            out_pts = self._last_pts + 1
        if out_pts < 0:
            out_pts = 0 if self._last_pts is None else self._last_pts + 1
        vf.pts = out_pts
        vf.time_base = self.info.time_base
        if duration:
            vf.duration = duration
        self._last_pts = out_pts
        for packet in self._video.encode(vf):
            self._mux(packet)
        self._frames += 1
        # keep audio up to the current picture time (+1 s lead) flowing into the file
        self._audio.pump(float(out_pts * self.info.time_base) + self.info.start + 1.0, self._mux)

    def _mux(self, packet) -> None:
        if packet.stream.index == self._video.index:
            packet = _strip_sei(packet)
        self._out.mux(packet)

    def _verify(self) -> None:
        expected = self.info.expected_duration
        expect = videometa.Expectation(
            width=self.info.out_width, height=self.info.out_height,
            video_frames=self._frames, audio_streams=len(self.info.audio),
            duration=expected,
            video_end=((self.info.video_end - self.info.start)
                       if self.info.video_end is not None else None),
            audio_codecs=tuple(a.out_codec for a in self.info.audio),
        )
        problems = videometa.output_problems(self._tmp, expect)
        if problems:
            raise OutputError("video.verify_failed", path=str(self.dest),
                              reason="; ".join(problems[:5]))

    def _abort(self, exc) -> None:
        self._closed = True
        if self._audio is not None:
            with contextlib.suppress(Exception):
                self._audio.close()
        if self._out is not None:
            with contextlib.suppress(Exception):
                self._out.close()
        if exc is None:
            exc = RuntimeError("aborted")
        # atomic_output's cleanup: the temp file is removed, nothing reaches dest
        with contextlib.suppress(BaseException):
            self._stack.__exit__(type(exc), exc, exc.__traceback__)


def _add_video_stream(out, info: VideoInfo, *, crf: int, preset: str, colour=None):
    rate = Fraction(info.fps).limit_denominator(100000) if info.fps else Fraction(25)
    options = {
        "crf": str(crf),
        "preset": preset,
        "profile": "high",
        "a53cc": "0",          # never carry closed captions over from side data
        "udu_sei": "0",        # never carry user-data SEI over from side data
        "flags": "+bitexact",
    }
    from blurkit.media.budget import encoder_options
    options.update(encoder_options(info.out_width, info.out_height))   # memory: large frames
    vs = out.add_stream("libx264", rate=rate, options=options)
    vs.width = info.out_width
    vs.height = info.out_height
    vs.pix_fmt = "yuv420p"
    vs.time_base = info.time_base
    vs.codec_context.time_base = info.time_base
    cc = vs.codec_context
    # colour description in the H.264 VUI (AVCOL_* values)
    hd = info.out_height >= 720 or info.out_width >= 1280
    cc.color_range = 1                     # limited ("tv")
    cc.colorspace = 6                      # smpte170m / BT.601 matrix (cv2 RGB->I420)
    cc.color_primaries = 1 if hd else 6    # bt709 / smpte170m
    cc.color_trc = 1 if hd else 6
    if colour is not None:
        # transcode_plain passes decoded pictures straight through: keep their description
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = colour
    return vs


# --------------------------------------------------------------------------- floor

def transcode_plain(src, dest, *, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET,
                    overwrite: bool = False) -> int:
    """Decode `src` and re-encode it to `dest` with exactly VideoWriter's settings, no processing.

    The speed floor for benchmarks: same decoder threading, encoder, muxer, audio handling,
    verification and atomic publish as the anonymiser, minus RGB conversion and detection.
    Pictures that are already 8-bit 4:2:0 with even size and no rotation go straight to the
    encoder; others take the RGB path (so the output is upright like VideoWriter's).
    Returns the number of frames written.
    """
    info = probe_video(src)
    direct = (info.rotation == 0 and not info.mirrored and info.width % 2 == 0
              and info.height % 2 == 0 and info.pix_fmt in ("yuv420p", "yuvj420p"))
    if not direct:
        with VideoWriter(src, dest, info, crf=crf, preset=preset, overwrite=overwrite) as out:
            for frame in read_frames(src, info):
                out.write(frame, frame.rgb)
            return out.frames_written
    from av.video.reformatter import VideoReformatter
    reformatter = VideoReformatter()
    frames = _decode(info)
    first = next(frames)
    colour = (first[1].colorspace, first[1].color_primaries, first[1].color_trc, 1)
    if colour[0] == 2:   # unspecified: tag what the RGB path would assume
        colour = ((1, 1, 1, 1) if (info.out_height >= 720 or info.out_width >= 1280)
                  else (6, 6, 6, 1))
    with VideoWriter(src, dest, info, crf=crf, preset=preset, overwrite=overwrite,
                     _colour=colour) as out:
        import itertools
        for index, frame, pts, dur in itertools.chain([first], frames):
            if frame.format.name != "yuv420p":
                frame = reformatter.reformat(frame, format="yuv420p", dst_color_range=1, threads=1,
                                             **_colorspace_args(frame))
            out._last_index = index
            out._guarded(out._encode, frame, pts, dur)
        return out.frames_written
