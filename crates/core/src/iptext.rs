//! An address's text form without `fmt`: `Ipv4Addr`'s `Display` handles
//! width and padding, which costs ~60 ns per address, and the pipeline
//! renders a source address several times per event (stored document,
//! chunk summary, threshold key).

use std::net::IpAddr;

/// Appends `ip`'s usual text form (`192.0.2.7`, `2001:db8::1`) to `out`.
pub fn push_ip(out: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            let mut buf = [0u8; 15];
            let n = write_v4(&mut buf, v4.octets());
            // Only ASCII digits and dots were written.
            out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(out, "{v6}");
        }
    }
}

/// `ip`'s text form as a new string.
pub fn ip_string(ip: IpAddr) -> String {
    let mut out = String::with_capacity(15);
    push_ip(&mut out, ip);
    out
}

fn write_v4(buf: &mut [u8; 15], octets: [u8; 4]) -> usize {
    let mut n = 0;
    for (i, octet) in octets.into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        if octet >= 100 {
            buf[n] = b'0' + octet / 100;
            n += 1;
        }
        if octet >= 10 {
            buf[n] = b'0' + (octet / 10) % 10;
            n += 1;
        }
        buf[n] = b'0' + octet % 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_display(octets in any::<[u8; 4]>(), v6 in any::<[u16; 8]>()) {
            let v4 = IpAddr::from(octets);
            prop_assert_eq!(ip_string(v4), v4.to_string());
            let v6 = IpAddr::from(v6);
            prop_assert_eq!(ip_string(v6), v6.to_string());
        }
    }
}
