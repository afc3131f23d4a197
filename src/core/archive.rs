//! A minimal ZIP archive (stored entries, no compression) for moving a whole project between
//! machines as one file. Photos are JPEGs and the model is dense floats: compressing them again
//! gains little, and storing keeps this small enough to write and check by hand.
//!
//! Layout follows PKWARE's APPNOTE.TXT 6.3.10: a local header and the bytes of each entry, then a
//! central directory and its end record. Any unzip tool opens the result; [`read`] reads back
//! stored entries (ours, or an archive re-zipped without compression) and refuses the rest with a
//! reason.

use thiserror::Error;

/// Why an archive cannot be read.
#[derive(Debug, Clone, Error, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ArchiveError {
    /// Not a ZIP archive at all, or cut short.
    #[error("not a ZIP archive, or an incomplete one")]
    NotAnArchive,
    /// An entry's bytes are cut short or its header is damaged.
    #[error("the entry {0} is damaged or cut short")]
    Damaged(String),
    /// An entry's checksum does not match its bytes.
    #[error("the entry {0} does not match its checksum")]
    Checksum(String),
    /// An entry is compressed (re-zipped by another tool), which this reader does not undo.
    #[error("the entry {0} is compressed; archives made by Whisker store their entries")]
    Compressed(String),
    /// Too many entries or too large for 32-bit ZIP fields (ZIP64 is not supported).
    #[error("the archive is too large (over 4 GB or 65535 entries)")]
    TooLarge,
}

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the archive, `/`-separated.
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// "Version needed to extract": 1.0, plain stored entries.
const VERSION: u16 = 10;
/// General-purpose flag bit 11: names are UTF-8.
const UTF8: u16 = 1 << 11;

/// Writes `entries` as a ZIP archive with stored (uncompressed) entries.
pub fn write(entries: &[Entry]) -> Result<Vec<u8>, ArchiveError> {
    if entries.len() > u16::MAX as usize {
        return Err(ArchiveError::TooLarge);
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    for entry in entries {
        let offset = u32::try_from(out.len()).map_err(|_| ArchiveError::TooLarge)?;
        let size = u32::try_from(entry.bytes.len()).map_err(|_| ArchiveError::TooLarge)?;
        let name = entry.name.as_bytes();
        let crc = crc32(&entry.bytes);
        // Local file header (APPNOTE 4.3.7).
        put32(&mut out, LOCAL);
        put16(&mut out, VERSION);
        put16(&mut out, UTF8);
        put16(&mut out, 0); // stored
        put16(&mut out, 0); // time
        put16(&mut out, 0x21); // date: 1980-01-01
        put32(&mut out, crc);
        put32(&mut out, size);
        put32(&mut out, size);
        put16(&mut out, name.len() as u16);
        put16(&mut out, 0);
        out.extend_from_slice(name);
        out.extend_from_slice(&entry.bytes);
        // Central directory header (APPNOTE 4.3.12).
        put32(&mut central, CENTRAL);
        put16(&mut central, VERSION);
        put16(&mut central, VERSION);
        put16(&mut central, UTF8);
        put16(&mut central, 0);
        put16(&mut central, 0);
        put16(&mut central, 0x21);
        put32(&mut central, crc);
        put32(&mut central, size);
        put32(&mut central, size);
        put16(&mut central, name.len() as u16);
        put16(&mut central, 0); // extra
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0); // external attributes
        put32(&mut central, offset);
        central.extend_from_slice(name);
    }
    let directory_offset = u32::try_from(out.len()).map_err(|_| ArchiveError::TooLarge)?;
    let directory_size = u32::try_from(central.len()).map_err(|_| ArchiveError::TooLarge)?;
    out.extend_from_slice(&central);
    // End of central directory record (APPNOTE 4.3.16).
    put32(&mut out, END);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, entries.len() as u16);
    put16(&mut out, entries.len() as u16);
    put32(&mut out, directory_size);
    put32(&mut out, directory_offset);
    put16(&mut out, 0);
    Ok(out)
}

/// Reads every entry of a ZIP archive whose entries are stored (as [`write`] makes them).
pub fn read(bytes: &[u8]) -> Result<Vec<Entry>, ArchiveError> {
    // The end record is the last 22 bytes unless the archive has a comment: search backwards.
    let end = (0..=bytes.len().saturating_sub(22))
        .rev()
        .take(22 + u16::MAX as usize)
        .find(|&i| get32(bytes, i) == Some(END))
        .ok_or(ArchiveError::NotAnArchive)?;
    let count = get16(bytes, end + 10).ok_or(ArchiveError::NotAnArchive)? as usize;
    let mut at = get32(bytes, end + 16).ok_or(ArchiveError::NotAnArchive)? as usize;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if get32(bytes, at) != Some(CENTRAL) {
            return Err(ArchiveError::NotAnArchive);
        }
        let field16 = |o: usize| get16(bytes, at + o).ok_or(ArchiveError::NotAnArchive);
        let field32 = |o: usize| get32(bytes, at + o).ok_or(ArchiveError::NotAnArchive);
        let method = field16(10)?;
        let crc = field32(16)?;
        let compressed = field32(20)? as usize;
        let size = field32(24)? as usize;
        let name_len = field16(28)? as usize;
        let extra_len = field16(30)? as usize;
        let comment_len = field16(32)? as usize;
        let local = field32(42)? as usize;
        let name = bytes
            .get(at + 46..at + 46 + name_len)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .ok_or(ArchiveError::NotAnArchive)?;
        at += 46 + name_len + extra_len + comment_len;
        if method != 0 || compressed != size {
            return Err(ArchiveError::Compressed(name));
        }
        let damaged = || ArchiveError::Damaged(name.clone());
        if get32(bytes, local) != Some(LOCAL) {
            return Err(damaged());
        }
        let local_name = get16(bytes, local + 26).ok_or_else(damaged)? as usize;
        let local_extra = get16(bytes, local + 28).ok_or_else(damaged)? as usize;
        let start = local + 30 + local_name + local_extra;
        let data = bytes.get(start..start + size).ok_or_else(damaged)?;
        if crc32(data) != crc {
            return Err(ArchiveError::Checksum(name));
        }
        entries.push(Entry {
            name,
            bytes: data.to_vec(),
        });
    }
    Ok(entries)
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as ZIP requires.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn get16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn get32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry {
                name: "project.json".into(),
                bytes: br#"{"classes":["cat","dog"]}"#.to_vec(),
            },
            Entry {
                name: "photos/ünïcode.jpg".into(),
                bytes: (0..=255u8).cycle().take(1000).collect(),
            },
            Entry {
                name: "empty".into(),
                bytes: Vec::new(),
            },
        ]
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        // The CRC-32 "check" value of the ASCII digits 1-9 (Rocksoft model, CRC-32/ISO-HDLC).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn round_trip() {
        let zip = write(&entries()).unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(read(&zip).unwrap(), entries());
    }

    #[test]
    fn damage_is_reported_not_ignored() {
        let zip = write(&entries()).unwrap();
        assert_eq!(read(b"hello"), Err(ArchiveError::NotAnArchive));
        assert_eq!(read(&zip[..zip.len() / 2]), Err(ArchiveError::NotAnArchive));
        // Flip a byte inside the second entry's data.
        let mut bad = zip.clone();
        let at = bad.windows(4).position(|w| w == [10, 11, 12, 13]).unwrap();
        bad[at] ^= 0xFF;
        assert_eq!(
            read(&bad),
            Err(ArchiveError::Checksum("photos/ünïcode.jpg".into()))
        );
        // Say the first entry is deflated.
        let mut deflated = zip;
        let central = deflated
            .windows(4)
            .position(|w| w == [0x50, 0x4b, 1, 2])
            .unwrap();
        deflated[central + 10] = 8;
        assert_eq!(
            read(&deflated),
            Err(ArchiveError::Compressed("project.json".into()))
        );
    }
}
