//! One captured frame to the header fields a flow needs.
//!
//! Written here rather than taken from a packet-parsing crate: a flow needs
//! six fields at fixed offsets, and it needs the lengths the *headers* say
//! (IP total length, TCP data offset) rather than the bytes captured, so
//! that a capture cut at a snap length meters the same as a full one —
//! strict slicers reject such frames, lax ones leave the arithmetic to the
//! caller. Every read is bounds-checked; nothing here allocates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The capture's link layer (libpcap's DLT values map onto these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Ethernet,
    /// Linux "cooked" capture v1 (the `any` device).
    LinuxSll,
    LinuxSll2,
    /// Bare IPv4 or IPv6, told apart by the version nibble.
    RawIp,
    /// BSD loopback: a 4-byte address family in host order.
    Null,
}

impl LinkType {
    /// From a libpcap data-link type number.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            12 | 14 | 101 | 228 | 229 => LinkType::RawIp,
            0 => LinkType::Null,
            _ => return None,
        })
    }
}

pub const TCP: u8 = 6;
pub const UDP: u8 = 17;
pub const ICMP: u8 = 1;
pub const ICMPV6: u8 = 58;

/// TCP flag bits as they sit in the header's 14th byte.
pub mod flag {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// What a flow learns from one packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packet {
    /// Capture time, microseconds since the epoch.
    pub ts_us: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 0 for ICMP.
    pub src_port: u16,
    pub dst_port: u16,
    pub protocol: u8,
    /// Transport payload bytes, from the IP header's length.
    pub payload_len: u32,
    /// Transport header bytes (TCP with options, UDP's 8; 0 for ICMP, as
    /// CICFlowMeter counts it).
    pub header_len: u32,
    /// TCP flags byte, 0 for other protocols.
    pub flags: u8,
    /// TCP sequence and acknowledgement numbers (0 otherwise): a flow ends
    /// when both FINs are acknowledged.
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    /// ICMP type and code.
    pub icmp: Option<(u8, u8)>,
}

impl Packet {
    pub fn has(&self, bit: u8) -> bool {
        self.flags & bit != 0
    }
}

/// Why a frame carries no flow packet. Counted by the caller, never fatal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Fewer bytes than the headers need.
    Truncated,
    /// ARP, LLDP and other non-IP frames.
    NotIp,
    /// A later IP fragment: no transport header to key it by.
    Fragment,
    /// An IP protocol other than TCP, UDP and ICMP.
    Protocol(u8),
    /// Header fields that contradict each other (a length below the header's).
    Malformed,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];

fn u16_at(b: &[u8], at: usize) -> Result<u16, Skip> {
    match b.get(at..at + 2) {
        Some(s) => Ok(u16::from_be_bytes([s[0], s[1]])),
        None => Err(Skip::Truncated),
    }
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Skip> {
    match b.get(at..at + 4) {
        Some(s) => Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]])),
        None => Err(Skip::Truncated),
    }
}

fn byte_at(b: &[u8], at: usize) -> Result<u8, Skip> {
    b.get(at).copied().ok_or(Skip::Truncated)
}

/// Decodes one frame captured at `ts_us`.
pub fn decode(link: LinkType, frame: &[u8], ts_us: i64) -> Result<Packet, Skip> {
    let (ethertype, at) = match link {
        LinkType::Ethernet => {
            let mut at = 12;
            let mut ethertype = u16_at(frame, at)?;
            // At most two tags (802.1ad QinQ); a third is not a real frame.
            for _ in 0..2 {
                if !ETHERTYPE_VLAN.contains(&ethertype) {
                    break;
                }
                at += 4;
                ethertype = u16_at(frame, at)?;
            }
            (ethertype, at + 2)
        }
        LinkType::LinuxSll => (u16_at(frame, 14)?, 16),
        LinkType::LinuxSll2 => (u16_at(frame, 0)?, 20),
        LinkType::RawIp => match byte_at(frame, 0)? >> 4 {
            4 => (ETHERTYPE_IPV4, 0),
            6 => (ETHERTYPE_IPV6, 0),
            _ => return Err(Skip::NotIp),
        },
        LinkType::Null => {
            let family = frame.get(..4).ok_or(Skip::Truncated)?;
            // Host byte order: either end may hold the small number.
            let family = u32::from_le_bytes([family[0], family[1], family[2], family[3]])
                .min(u32::from_be_bytes([family[0], family[1], family[2], family[3]]));
            match family {
                2 => (ETHERTYPE_IPV4, 4),
                24 | 28 | 30 => (ETHERTYPE_IPV6, 4),
                _ => return Err(Skip::NotIp),
            }
        }
    };
    let ip = frame.get(at..).ok_or(Skip::Truncated)?;
    let (src, dst, protocol, transport, ip_payload_len) = match ethertype {
        ETHERTYPE_IPV4 => ipv4(ip)?,
        ETHERTYPE_IPV6 => ipv6(ip)?,
        _ => return Err(Skip::NotIp),
    };
    let mut packet = Packet {
        ts_us,
        src,
        dst,
        src_port: 0,
        dst_port: 0,
        protocol,
        payload_len: 0,
        header_len: 0,
        flags: 0,
        seq: 0,
        ack: 0,
        window: 0,
        icmp: None,
    };
    match protocol {
        TCP => {
            packet.src_port = u16_at(transport, 0)?;
            packet.dst_port = u16_at(transport, 2)?;
            let header_len = u32::from(byte_at(transport, 12)? >> 4) * 4;
            if header_len < 20 || header_len > ip_payload_len {
                return Err(Skip::Malformed);
            }
            packet.flags = byte_at(transport, 13)?;
            packet.seq = u32_at(transport, 4)?;
            packet.ack = u32_at(transport, 8)?;
            packet.window = u16_at(transport, 14)?;
            packet.header_len = header_len;
            packet.payload_len = ip_payload_len - header_len;
        }
        UDP => {
            packet.src_port = u16_at(transport, 0)?;
            packet.dst_port = u16_at(transport, 2)?;
            if ip_payload_len < 8 {
                return Err(Skip::Malformed);
            }
            packet.header_len = 8;
            packet.payload_len = ip_payload_len - 8;
        }
        ICMP | ICMPV6 => packet.icmp = Some((byte_at(transport, 0)?, byte_at(transport, 1)?)),
        other => return Err(Skip::Protocol(other)),
    }
    Ok(packet)
}

type Network<'a> = (IpAddr, IpAddr, u8, &'a [u8], u32);

fn ipv4(ip: &[u8]) -> Result<Network<'_>, Skip> {
    let first = byte_at(ip, 0)?;
    if first >> 4 != 4 {
        return Err(Skip::Malformed);
    }
    let header_len = usize::from(first & 0x0F) * 4;
    if header_len < 20 {
        return Err(Skip::Malformed);
    }
    let header = ip.get(..header_len).ok_or(Skip::Truncated)?;
    let total = u32::from(u16_at(header, 2)?);
    // Segmentation offload hands the capture packets whose total length is
    // 0 (the NIC fills it in): then what was captured is the length.
    let total = if total == 0 { ip.len() as u32 } else { total };
    if total < header_len as u32 {
        return Err(Skip::Malformed);
    }
    if u16_at(header, 6)? & 0x1FFF != 0 {
        return Err(Skip::Fragment);
    }
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    Ok((src.into(), dst.into(), header[9], &ip[header_len..], total - header_len as u32))
}

fn ipv6(ip: &[u8]) -> Result<Network<'_>, Skip> {
    let header = ip.get(..40).ok_or(Skip::Truncated)?;
    if header[0] >> 4 != 6 {
        return Err(Skip::Malformed);
    }
    let mut payload_len = match u16_at(header, 4)? {
        0 => (ip.len() - 40) as u32,
        len => u32::from(len),
    };
    let mut next = header[6];
    let mut octets = [0u8; 16];
    octets.copy_from_slice(&header[8..24]);
    let src = Ipv6Addr::from(octets);
    octets.copy_from_slice(&header[24..40]);
    let dst = Ipv6Addr::from(octets);
    let mut at = 40usize;
    // Extension headers, a bounded number of them: a chain longer than
    // this is an evasion attempt, not traffic.
    for _ in 0..8 {
        let len = match next {
            0 | 43 | 60 => (usize::from(byte_at(ip, at + 1)?) + 1) * 8,
            44 => {
                if u16_at(ip, at + 2)? & 0xFFF8 != 0 {
                    return Err(Skip::Fragment);
                }
                8
            }
            51 => (usize::from(byte_at(ip, at + 1)?) + 2) * 4,
            _ => break,
        };
        next = byte_at(ip, at)?;
        at += len;
        payload_len = payload_len.checked_sub(len as u32).ok_or(Skip::Malformed)?;
    }
    let transport = ip.get(at..).ok_or(Skip::Truncated)?;
    Ok((src.into(), dst.into(), next, transport, payload_len))
}
