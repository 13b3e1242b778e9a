//! The metadata log: its one writer and reader, over any storage.
//!
//! [`Log`] decides what bytes go where and in which order; a [`LogStore`]
//! only moves bytes. An append stores the new entry and flushes it, and only
//! then stores and flushes the header that publishes it, so that a writer
//! stopped at any point leaves either the log as it was or the log with the
//! whole entry: never a published entry that is half written. The header
//! is read again from the storage before each append and each replay (the
//! storage is shared: another process or host may have appended since).
//!
//! A byte buffer (`[u8]`, `Vec<u8>`) is a storage whose flush does nothing;
//! the famfs tool's storage is the mapping of `.meta/.log`, whose flush
//! writes CPU caches back to the shared memory.

use std::ops::Range;

use thiserror::Error;

use crate::{EntryBody, FormatError, LogEntry, LogHeader, LOG_ENTRY_SIZE, LOG_HEADER_SIZE};

/// Why a log operation failed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LogError {
    /// Every slot is used.
    #[error("the log is full ({0} entries)")]
    Full(u64),
    /// The log header is unusable.
    #[error("log header: {0}")]
    Header(FormatError),
    /// The storage is not the log's size.
    #[error("log buffer of {got} bytes, the header says {want}")]
    Size {
        /// Storage length.
        got: usize,
        /// Log length from the header.
        want: u64,
    },
    /// The entry could not be encoded.
    #[error("entry: {0}")]
    Entry(FormatError),
}

/// What replaying a log found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Valid entries, in log order.
    pub entries: Vec<LogEntry>,
    /// The slot of each of `entries`.
    pub slots: Vec<u64>,
    /// Slots that did not decode (torn or corrupt), with the reason; they are
    /// skipped and nothing before them is lost.
    pub bad: Vec<(u64, FormatError)>,
}

/// Read access to the bytes of a log.
pub trait LogRead {
    /// The length of the log, in bytes.
    fn size(&self) -> usize;
    /// Copies the bytes at `offset` into `dst` as the medium holds them now
    /// (for shared memory: not a stale cached copy). `offset + dst.len()`
    /// is at most [`LogRead::size`].
    fn read(&self, offset: usize, dst: &mut [u8]);
}

/// Write access to the bytes of a log.
pub trait LogStore: LogRead {
    /// Stores `src` at `offset`. Stores may reach the medium in any order
    /// until they are flushed.
    fn write(&mut self, offset: usize, src: &[u8]);
    /// Returns once every store to `offset..offset + len` has reached the
    /// medium (where other hosts see it); nothing stored later reaches it
    /// before.
    fn flush(&mut self, offset: usize, len: usize);
}

impl LogRead for [u8] {
    fn size(&self) -> usize {
        self.len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self[offset..offset + dst.len()]);
    }
}

impl LogStore for [u8] {
    fn write(&mut self, offset: usize, src: &[u8]) {
        self[offset..offset + src.len()].copy_from_slice(src);
    }

    /// Memory is the medium: nothing to do.
    fn flush(&mut self, _offset: usize, _len: usize) {}
}

impl LogRead for Vec<u8> {
    fn size(&self) -> usize {
        self.len()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        self.as_slice().read(offset, dst)
    }
}

impl LogStore for Vec<u8> {
    fn write(&mut self, offset: usize, src: &[u8]) {
        self.as_mut_slice().write(offset, src)
    }

    fn flush(&mut self, _offset: usize, _len: usize) {}
}

impl<S: LogRead + ?Sized> LogRead for &S {
    fn size(&self) -> usize {
        (**self).size()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        (**self).read(offset, dst)
    }
}

impl<S: LogRead + ?Sized> LogRead for &mut S {
    fn size(&self) -> usize {
        (**self).size()
    }

    fn read(&self, offset: usize, dst: &mut [u8]) {
        (**self).read(offset, dst)
    }
}

impl<S: LogStore + ?Sized> LogStore for &mut S {
    fn write(&mut self, offset: usize, src: &[u8]) {
        (**self).write(offset, src)
    }

    fn flush(&mut self, offset: usize, len: usize) {
        (**self).flush(offset, len)
    }
}

/// Byte range of slot `i` in the log.
pub fn slot_range(i: u64) -> Range<usize> {
    let start = LOG_HEADER_SIZE + i as usize * LOG_ENTRY_SIZE;
    start..start + LOG_ENTRY_SIZE
}

/// A metadata log in a storage.
pub struct Log<S> {
    store: S,
}

impl<S: LogRead> Log<S> {
    /// The log in `store`, not checked yet (every operation reads and
    /// checks the header first).
    pub fn new(store: S) -> Log<S> {
        Log { store }
    }

    /// The log in `store`, whose header must be valid now.
    pub fn open(store: S) -> Result<Log<S>, LogError> {
        let log = Log::new(store);
        log.header()?;
        Ok(log)
    }

    /// Reads and checks the header: CRC, magic, the storage's size,
    /// indexes.
    pub fn header(&self) -> Result<LogHeader, LogError> {
        let mut b = [0u8; LOG_HEADER_SIZE];
        if self.store.size() < LOG_HEADER_SIZE {
            return Err(LogError::Header(FormatError::Truncated("log header")));
        }
        self.store.read(0, &mut b);
        let header = LogHeader::decode(&b).map_err(LogError::Header)?;
        if header.log_len != self.store.size() as u64 {
            return Err(LogError::Size {
                got: self.store.size(),
                want: header.log_len,
            });
        }
        if header.next_index > header.last_index + 1 {
            return Err(LogError::Header(FormatError::Invalid(
                "next index beyond the last slot",
            )));
        }
        Ok(header)
    }

    /// Reads the header and every entry it publishes, from one copy of the
    /// published slots (what is checked is what is decoded, whatever
    /// another host writes meanwhile). Slots that do not decode are listed
    /// and skipped.
    pub fn replay(&self) -> Result<(LogHeader, Replay), LogError> {
        let header = self.header()?;
        let end = slot_range(header.next_index).start;
        let mut slots = vec![0u8; end - LOG_HEADER_SIZE];
        self.store.read(LOG_HEADER_SIZE, &mut slots);
        let mut r = Replay::default();
        for (i, bytes) in (0..header.next_index).zip(slots.chunks_exact(LOG_ENTRY_SIZE)) {
            match LogEntry::decode(bytes) {
                Ok(e) => {
                    r.entries.push(e);
                    r.slots.push(i);
                }
                Err(e) => r.bad.push((i, e)),
            }
        }
        Ok((header, r))
    }

    /// Reads the header and the published slots from `first` on, and the
    /// slots `again` (earlier slots to read once more, such as slots that
    /// did not decode before), from one copy each. Slots at or beyond the
    /// header's next index are not read; when `first` is beyond it (the log
    /// has fewer entries than the caller followed) nothing is read. This is
    /// what a follower reads: only what changed since it last looked.
    pub fn replay_since(&self, first: u64, again: &[u64]) -> Result<(LogHeader, Replay), LogError> {
        let header = self.header()?;
        let mut r = Replay::default();
        if first > header.next_index {
            return Ok((header, r));
        }
        let mut decode = |i: u64, bytes: &[u8]| match LogEntry::decode(bytes) {
            Ok(e) => {
                r.entries.push(e);
                r.slots.push(i);
            }
            Err(e) => r.bad.push((i, e)),
        };
        let mut one = [0u8; LOG_ENTRY_SIZE];
        let mut again: Vec<u64> = again.iter().copied().filter(|&i| i < first).collect();
        again.sort_unstable();
        again.dedup();
        for i in again {
            self.store.read(slot_range(i).start, &mut one);
            decode(i, &one);
        }
        if first < header.next_index {
            let start = slot_range(first).start;
            let mut slots = vec![0u8; slot_range(header.next_index).start - start];
            self.store.read(start, &mut slots);
            for (i, bytes) in (first..header.next_index).zip(slots.chunks_exact(LOG_ENTRY_SIZE)) {
                decode(i, bytes);
            }
        }
        Ok((header, r))
    }

    /// The storage.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the storage back.
    pub fn into_store(self) -> S {
        self.store
    }
}

impl<S: LogStore> Log<S> {
    /// Formats the storage as an empty log of its size (a power of two of
    /// at least 8 MiB). The first slot is cleared too, so that nothing of
    /// an older log looks like an entry right after the header.
    pub fn format(mut store: S) -> Result<Log<S>, LogError> {
        let header = LogHeader::new(store.size() as u64).map_err(LogError::Header)?;
        let first = slot_range(0);
        store.write(first.start, &[0u8; LOG_ENTRY_SIZE]);
        store.write(0, &header.encode());
        store.flush(0, first.end);
        Ok(Log { store })
    }

    /// Appends an entry and returns its sequence number (assigned here). The
    /// caller serialises appends (one writer at a time). The entry is stored
    /// and flushed before the header that publishes it, so an append cut
    /// short leaves the log as it was.
    pub fn append(&mut self, body: EntryBody) -> Result<u64, LogError> {
        let mut h = self.header()?;
        if h.next_index > h.last_index {
            return Err(LogError::Full(h.last_index + 1));
        }
        let entry = LogEntry {
            seqnum: h.next_seqnum,
            body,
        };
        let bytes = entry.encode().map_err(LogError::Entry)?;
        let slot = slot_range(h.next_index);
        self.store.write(slot.start, &bytes);
        self.store.flush(slot.start, slot.len());
        h.next_index += 1;
        h.next_seqnum += 1;
        self.store.write(0, &h.encode());
        self.store.flush(0, LOG_HEADER_SIZE);
        Ok(entry.seqnum)
    }
}

/// Checks the header of the log held in `buf` (CRC, magic, size, indexes).
pub fn check_header(buf: &[u8]) -> Result<LogHeader, LogError> {
    Log::new(buf).header()
}

/// Reads a log without changing it: its header and every published entry.
pub fn read_log(buf: &[u8]) -> Result<(LogHeader, Replay), LogError> {
    Log::new(buf).replay()
}
