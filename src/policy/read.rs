//! Reading the files `ops lint` checks, within limits: only regular files are
//! opened (a FIFO would block, a device never ends), and only up to
//! [`MAX_FILE_SIZE`], checked on the size before reading and on the bytes read (a
//! file growing meanwhile cannot get past it). A file that cannot be checked is a
//! finding of `unreadable-file`, never a silent skip.

use std::fs::{File, Metadata, OpenOptions};
use std::io::Read as _;
use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
use std::path::Path;

use super::stamp::Stamp;

/// The largest file `ops lint` reads (manifests are kilobytes; generated bundles
/// of CRDs a few megabytes).
pub(crate) const MAX_FILE_SIZE: u64 = 8 << 20;

/// Why a file was not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unchecked {
    /// Larger than [`MAX_FILE_SIZE`]: `size` bytes (at least).
    TooBig { size: u64 },
    /// A FIFO, a socket or a device (`kind` says which).
    NotAFile { kind: &'static str },
    /// Opening or reading failed.
    Unreadable { error: String },
}

impl Unchecked {
    /// What went wrong, in a few words.
    pub(crate) fn reason(&self) -> String {
        match self {
            Self::TooBig { size } => format!(
                "{size} bytes, more than the limit of {MAX_FILE_SIZE} bytes ({} MiB)",
                MAX_FILE_SIZE >> 20
            ),
            Self::NotAFile { kind } => format!("not a regular file ({kind})"),
            Self::Unreadable { error } => error.clone(),
        }
    }

    /// The finding's message.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::TooBig { .. } => format!("too big to check: {}", self.reason()),
            Self::NotAFile { .. } => format!("{}: skipped without opening it", self.reason()),
            Self::Unreadable { .. } => format!("cannot be read: {}", self.reason()),
        }
    }

    /// The finding's help.
    pub(crate) fn help(&self) -> &'static str {
        match self {
            Self::TooBig { .. } => "split the file, or exclude it in `[rules.unreadable-file]`",
            Self::NotAFile { .. } => "`ops lint` reads regular files only: remove it or rename it",
            Self::Unreadable { .. } => "check the permissions of the file and of its directory",
        }
    }

    fn io(error: &std::io::Error) -> Self {
        Self::Unreadable {
            error: error.to_string(),
        }
    }
}

/// What a file that is not a regular file or a directory is.
pub(crate) fn special_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() || t.is_dir() {
        None
    } else if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

/// Open a regular file for reading. Non-blocking, so that a file swapped for a FIFO
/// after it was looked at cannot block; what was opened is looked at again.
pub(crate) fn open(path: &Path) -> Result<(File, u64), Unchecked> {
    open_file(path).map(|(file, meta)| (file, meta.len()))
}

/// [`open`], with what `fstat` said of the file opened.
fn open_file(path: &Path) -> Result<(File, Metadata), Unchecked> {
    let meta = std::fs::metadata(path).map_err(|e| Unchecked::io(&e))?;
    if let Some(kind) = special_kind(&meta) {
        return Err(Unchecked::NotAFile { kind });
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| Unchecked::io(&e))?;
    let meta = file.metadata().map_err(|e| Unchecked::io(&e))?;
    if let Some(kind) = special_kind(&meta) {
        return Err(Unchecked::NotAFile { kind });
    }
    if meta.is_dir() {
        return Err(Unchecked::NotAFile { kind: "a directory" });
    }
    Ok((file, meta))
}

/// The bytes of a regular file of at most [`MAX_FILE_SIZE`].
pub(crate) fn bytes(path: &Path) -> Result<Vec<u8>, Unchecked> {
    stamped(path).map(|(bytes, _)| bytes)
}

/// [`bytes`], and the stamp of the file as it was opened (before it was read), for
/// the lint index.
pub(crate) fn stamped(path: &Path) -> Result<(Vec<u8>, Stamp), Unchecked> {
    let (file, meta) = open_file(path)?;
    let stamp = Stamp::of(&meta);
    let size = meta.len();
    if size > MAX_FILE_SIZE {
        return Err(Unchecked::TooBig { size });
    }
    // Room for the whole file and the read that finds its end: without it, the
    // bytes are read in chunks that double from 32 (twenty reads for half a megabyte).
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0).saturating_add(1));
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Unchecked::io(&e))?;
    let read = bytes.len() as u64;
    if read > MAX_FILE_SIZE {
        return Err(Unchecked::TooBig { size: read });
    }
    Ok((bytes, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        let file = File::create(&path).unwrap();
        // Sparse: a gibibyte that takes no space.
        file.set_len(1 << 30).unwrap();
        assert_eq!(bytes(&path), Err(Unchecked::TooBig { size: 1 << 30 }));
        file.set_len(MAX_FILE_SIZE).unwrap();
        assert_eq!(bytes(&path).map(|b| b.len() as u64), Ok(MAX_FILE_SIZE));
    }

    #[test]
    fn fifos_are_not_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo.yaml");
        nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        assert_eq!(bytes(&path), Err(Unchecked::NotAFile { kind: "a FIFO" }));
        assert!(matches!(
            bytes(&dir.path().join("nope")),
            Err(Unchecked::Unreadable { .. })
        ));
    }
}
