"""Agency-style test files written by exiftool itself (the reference writes, geoloc reads).

Each entry is (file name, base image format, exiftool arguments). They cover what news and
agency files carry: IPTC + XMP + EXIF together and in sync (exiftool's MWG mode keeps the
IPTC digest current), an IPTC block edited after the XMP (digest mismatch), IPTC and XMP that
differ with no digest, IPTC values cut at the dataset limit, XMP-only and IPTC-only dates,
LocationShown structures, XMP GPS without EXIF GPS, UTF-8 IPTC in other scripts, a Canon
maker-note lens model copied from a real file, and XMP in PNG, WebP, TIFF and HEIC.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import geoloc_core.evidence.filefacts  # noqa: F401  (registers the HEIF writer with Pillow)
from tests.imagegen import image_bytes

SAMPLES = Path(__file__).resolve().parent / "data" / "exiftool_samples"
UTF8 = ["-charset", "iptc=UTF8", "-IPTC:CodedCharacterSet=UTF8"]
LONG_CITY = "Saint-Remy-en-Bouzemont-Saint-Genest-et-Isson"  # 45 characters; IPTC City keeps 32

ENTRIES: list[tuple[str, str, list[str]]] = [
    ("agency_synced.jpg", "JPEG", ["-use", "MWG", *UTF8, "-MWG:City=Kyiv", "-MWG:State=Kyiv City",
                                   "-MWG:Country=Ukraine", "-MWG:Creator=Olena Petrenko",
                                   "-MWG:Description=Firefighters at a damaged building, 12 March",
                                   "-IFD0:Make=Canon", "-IFD0:Model=Canon EOS R5",
                                   "-EXIF:DateTimeOriginal=2022:03:12 10:15:00"]),
    ("agency_xmp_date_only.jpg", "JPEG", ["-XMP-photoshop:DateCreated=2022:03:12 10:15:00+02:00",
                                          "-XMP-photoshop:City=Kharkiv", "-XMP-photoshop:Country=Ukraine",
                                          "-XMP-dc:Creator=Reporter One", "-XMP-dc:Description=Caption in XMP only"]),
    ("agency_iptc_date_only.jpg", "JPEG", [*UTF8, "-IPTC:DateCreated=2023:07:01", "-IPTC:TimeCreated=18:30:00+03:00",
                                           "-IPTC:City=Odesa", "-IPTC:Country-PrimaryLocationName=Ukraine",
                                           "-IPTC:By-line=Stringer", "-IPTC:Caption-Abstract=IPTC caption only"]),
    ("agency_digest_mismatch.jpg", "JPEG", [*UTF8, "-IPTC:City=Lviv", "-XMP-photoshop:City=Kyiv",
                                            "-IPTC:Country-PrimaryLocationName=Ukraine",
                                            "-XMP-photoshop:Country=Poland",
                                            "-IPTC:By-line=IPTC Author", "-XMP-dc:Creator=XMP Author",
                                            "-IPTC:Caption-Abstract=IPTC caption (newer)",
                                            "-XMP-dc:Description=XMP caption (stale)",
                                            "-IPTCDigest=00112233445566778899aabbccddeeff"]),
    ("agency_no_digest_differ.jpg", "JPEG", [*UTF8, "-IPTC:City=Lviv", "-XMP-photoshop:City=Kyiv",
                                             "-IPTC:Country-PrimaryLocationName=Ukraine",
                                             "-XMP-photoshop:Country=Ukraine", "-IPTC:By-line=IPTC Author",
                                             "-XMP-dc:Creator=XMP Author", "-IPTCDigest="]),
    ("agency_truncated_iptc.jpg", "JPEG", ["-IPTC:City=" + LONG_CITY[:32], "-XMP-photoshop:City=" + LONG_CITY,
                                           "-IPTC:Country-PrimaryLocationName=France",
                                           "-IPTCDigest=00112233445566778899aabbccddeeff"]),
    ("agency_location_shown.jpg", "JPEG", ["-XMP-iptcExt:LocationShownCity=München",
                                           "-XMP-iptcExt:LocationShownCountryName=Deutschland",
                                           "-XMP-iptcExt:LocationShownCountryCode=DE",
                                           "-XMP-photoshop:City=Munich (legacy)", "-XMP-photoshop:Country=Germany"]),
    ("agency_scripts.jpg", "JPEG", ["-use", "MWG", *UTF8, "-MWG:City=Київ", "-MWG:Country=Україна",
                                    "-MWG:Creator=Олена Петренко", "-MWG:Description=Пожежники, 12 березня"]),
    ("agency_cjk.jpg", "JPEG", ["-use", "MWG", *UTF8, "-MWG:City=北京", "-MWG:Country=中国",
                                "-MWG:Creator=记者", "-MWG:Description=天安门广场"]),
    ("agency_xmp_gps.jpg", "JPEG", ["-XMP-exif:GPSLatitude=50.4501", "-XMP-exif:GPSLongitude=30.5234",
                                    "-XMP-exif:GPSLatitudeRef=N", "-XMP-exif:GPSLongitudeRef=E",
                                    "-XMP-photoshop:City=Kyiv", "-XMP-photoshop:Country=Ukraine"]),
    ("agency_exif_artist.jpg", "JPEG", ["-use", "MWG", "-EXIF:Artist=EXIF Artist", "-XMP-dc:Creator=XMP Creator",
                                        "-EXIF:ImageDescription=EXIF description",
                                        "-XMP-dc:Description=XMP description"]),
    ("agency_xmp_lens.jpg", "JPEG", ["-XMP-exifEX:LensModel=RF24-70mm F2.8 L IS USM", "-XMP-tiff:Make=Canon",
                                     "-XMP-tiff:Model=Canon EOS R6", "-XMP-xmp:CreateDate=2021:05:05 08:00:00Z"]),
    ("agency_makernote_lens.jpg", "JPEG", ["-tagsfromfile", str(SAMPLES / "Canon1DmkIII.jpg"), "-makernotes",
                                           "-IFD0:Make", "-IFD0:Model", "-EXIF:DateTimeOriginal"]),
    ("agency_makernote_lens2.jpg", "JPEG", ["-tagsfromfile", str(SAMPLES / "Canon1DmkIII.jpg"), "-makernotes",
                                            "-IFD0:Make", "-IFD0:Model", "-XMP-photoshop:City=Bucha",
                                            "-XMP-photoshop:Country=Ukraine"]),
    ("agency_hostile.jpg", "JPEG", [*UTF8, "-IPTC:City=<img src=x onerror=alert(1)>",
                                    "-IPTC:Country-PrimaryLocationName==HYPERLINK(\"http://x\")",
                                    "-IPTC:By-line=${alert(1)}`", "-IPTC:Caption-Abstract=</script><b>x</b>"]),
    ("agency_xmp.png", "PNG", ["-XMP-photoshop:City=Lisboa", "-XMP-photoshop:Country=Portugal",
                               "-XMP-dc:Creator=PNG Writer", "-XMP-photoshop:DateCreated=2020:01:02 03:04:05Z"]),
    ("agency_xmp.webp", "WEBP", ["-XMP-photoshop:City=Roma", "-XMP-photoshop:Country=Italia",
                                 "-XMP-dc:Description=WebP caption", "-XMP-dc:Creator=WebP Writer"]),
    ("agency_iptc.tif", "TIFF", [*UTF8, "-IPTC:City=Warszawa", "-IPTC:Country-PrimaryLocationName=Polska",
                                 "-IPTC:By-line=TIFF Author", "-IPTC:DateCreated=2019:11:11",
                                 "-XMP-dc:Description=TIFF caption"]),
    ("agency_xmp.heic", "HEIF", ["-XMP-photoshop:City=Tokyo", "-XMP-photoshop:Country=Japan",
                                 "-XMP-dc:Creator=HEIC Writer", "-XMP-photoshop:DateCreated=2024:04:01 09:00:00+09:00"]),
]


def build(folder: Path) -> list[Path]:
    """Write every entry into ``folder`` (exiftool must be installed); returns the paths written."""
    paths = []
    for name, fmt, args in ENTRIES:
        path = folder / name
        path.write_bytes(image_bytes(fmt, size=(64, 48)))
        subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", *args, str(path)], check=True,
                       capture_output=True, timeout=60)
        paths.append(path)
    return paths
