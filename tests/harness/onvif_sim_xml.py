"""SOAP response templates of the ONVIF test camera (tests/harness/onvif_sim.py).

Plain `str.format` templates: small, readable, and exactly what a camera would send (SOAP 1.2, the
Device/Media v1/PTZ v2 namespaces). Only the operations the service uses are covered.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "trt": "http://www.onvif.org/ver10/media/wsdl",
    "tptz": "http://www.onvif.org/ver20/ptz/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "ter": "http://www.onvif.org/ver10/error",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
    "dn": "http://www.onvif.org/ver10/network/wsdl",
}

ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<s:Envelope xmlns:s="{s}" xmlns:tds="{tds}" xmlns:trt="{trt}" xmlns:tptz="{tptz}" xmlns:tt="{tt}" '
    'xmlns:ter="{ter}"><s:Body>{{body}}</s:Body></s:Envelope>'
).format(**NS)

FAULT = (
    "<s:Fault><s:Code><s:Value>s:{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode>"
    '</s:Code><s:Reason><s:Text xml:lang="en">{reason}</s:Text></s:Reason></s:Fault>'
)

SYSTEM_DATE_TIME = (
    "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType>"
    "<tt:DaylightSavings>false</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC</tt:TZ></tt:TimeZone>"
    "<tt:UTCDateTime><tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
    "<tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year>"
    "<tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date></tt:UTCDateTime>"
    "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
)

DEVICE_INFORMATION = (
    "<tds:GetDeviceInformationResponse><tds:Manufacturer>{manufacturer}</tds:Manufacturer>"
    "<tds:Model>{model}</tds:Model><tds:FirmwareVersion>1.0.0</tds:FirmwareVersion>"
    "<tds:SerialNumber>{serial}</tds:SerialNumber><tds:HardwareId>{model}</tds:HardwareId>"
    "</tds:GetDeviceInformationResponse>"
)

SERVICE = (
    "<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{xaddr}</tds:XAddr>"
    "<tds:Version><tt:Major>2</tt:Major><tt:Minor>0</tt:Minor></tds:Version></tds:Service>"
)

CAPABILITIES = (
    "<tds:GetCapabilitiesResponse><tds:Capabilities>"
    "<tt:Device><tt:XAddr>{base}/onvif/device_service</tt:XAddr></tt:Device>"
    "<tt:Media><tt:XAddr>{base}/onvif/media_service</tt:XAddr><tt:StreamingCapabilities>"
    "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
    "</tt:StreamingCapabilities></tt:Media>{ptz}</tds:Capabilities></tds:GetCapabilitiesResponse>"
)

PROFILE = (
    '<trt:Profiles token="{token}" fixed="true"><tt:Name>{name}</tt:Name>'
    '<tt:VideoEncoderConfiguration token="venc_{token}"><tt:Name>venc_{token}</tt:Name>'
    "<tt:UseCount>1</tt:UseCount>"
    "<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>{width}</tt:Width><tt:Height>{height}</tt:Height>"
    "</tt:Resolution><tt:Quality>5</tt:Quality><tt:RateControl><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>"
    "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>1024</tt:BitrateLimit></tt:RateControl>"
    "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>{ptz}</trt:Profiles>"
)

PROFILE_PTZ = (
    '<tt:PTZConfiguration token="ptzcfg"><tt:Name>ptzcfg</tt:Name><tt:UseCount>2</tt:UseCount>'
    "<tt:NodeToken>ptznode</tt:NodeToken></tt:PTZConfiguration>"
)

MEDIA_URI = (
    "<trt:{op}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
    "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
    "</trt:{op}Response>"
)


def space2d(tag: str, uri: str, rng: tuple[float, float], yrng: tuple[float, float]) -> str:
    return (
        f"<tt:{tag}><tt:URI>{uri}</tt:URI><tt:XRange><tt:Min>{rng[0]}</tt:Min><tt:Max>{rng[1]}</tt:Max>"
        f"</tt:XRange><tt:YRange><tt:Min>{yrng[0]}</tt:Min><tt:Max>{yrng[1]}</tt:Max></tt:YRange></tt:{tag}>"
    )


def space1d(tag: str, uri: str, rng: tuple[float, float]) -> str:
    return (
        f"<tt:{tag}><tt:URI>{uri}</tt:URI><tt:XRange><tt:Min>{rng[0]}</tt:Min><tt:Max>{rng[1]}</tt:Max>"
        f"</tt:XRange></tt:{tag}>"
    )


GENERIC = "http://www.onvif.org/ver10/tptz/"

CONFIGURATION_OPTIONS = (
    "<tptz:GetConfigurationOptionsResponse><tptz:PTZConfigurationOptions><tt:Spaces>{spaces}</tt:Spaces>"
    "<tt:PTZTimeout><tt:Min>PT1S</tt:Min><tt:Max>PT60S</tt:Max></tt:PTZTimeout>"
    "</tptz:PTZConfigurationOptions></tptz:GetConfigurationOptionsResponse>"
)

PTZ_STATUS = (
    "<tptz:GetStatusResponse><tptz:PTZStatus><tt:Position>"
    '<tt:PanTilt x="{x}" y="{y}" space="' + GENERIC + 'PanTiltSpaces/PositionGenericSpace"/>'
    '<tt:Zoom x="{z}" space="' + GENERIC + 'ZoomSpaces/PositionGenericSpace"/></tt:Position>'
    "<tt:MoveStatus><tt:PanTilt>{status}</tt:PanTilt><tt:Zoom>{status}</tt:Zoom></tt:MoveStatus>"
    "<tt:UtcTime>{utc}</tt:UtcTime></tptz:PTZStatus></tptz:GetStatusResponse>"
)

PRESET = (
    '<tptz:Preset token="{token}"><tt:Name>{name}</tt:Name><tt:PTZPosition>'
    '<tt:PanTilt x="{x}" y="{y}"/><tt:Zoom x="{z}"/></tt:PTZPosition></tptz:Preset>'
)

PROBE_MATCHES = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<s:Envelope xmlns:s="{s}" xmlns:wsa="{wsa}" xmlns:d="{d}" xmlns:dn="{dn}"><s:Header>'
    "<wsa:MessageID>urn:uuid:{{msg_id}}</wsa:MessageID><wsa:RelatesTo>{{relates_to}}</wsa:RelatesTo>"
    "<wsa:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
    "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action></s:Header>"
    "<s:Body><d:ProbeMatches><d:ProbeMatch><wsa:EndpointReference><wsa:Address>{{address}}</wsa:Address>"
    "</wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>{{scopes}}</d:Scopes>"
    "<d:XAddrs>{{xaddrs}}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches>"
    "</s:Body></s:Envelope>"
).format(**NS)


def envelope(body: str) -> bytes:
    return ENVELOPE.format(body=body).encode()


def fault(code: str, subcode: str, reason: str) -> bytes:
    return envelope(FAULT.format(code=code, subcode=subcode, reason=escape(reason)))
