//! What `stat` says of a file, compared to tell whether it changed since the lint
//! index was written: modification and change times to the nanosecond, size, inode,
//! mode. As in git's index, a modification time too close to the moment the stamp
//! was taken is not trusted ([`Stamp::settled`]): a change made within the same tick
//! of the file system's clock would leave it as it was. (A change that sets the
//! time back, `touch -d`, `rsync -t`, moves the change time, which is compared too.)

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// Modification time: seconds since the epoch, and nanoseconds (apart, so that
    /// a stamp is 48 bytes rather than the 64 of two `i128`s: the lint index holds one
    /// for every directory and every file a lint reads).
    mtime: i64,
    /// Change time (of the inode: a rename, a chmod), as `mtime`.
    ctime: i64,
    size: u64,
    ino: u64,
    mtime_nsec: u32,
    ctime_nsec: u32,
    mode: u32,
    /// Only the kind of file is kept (see [`Stamp::kind_of`]).
    kind_only: bool,
}

/// How close to the moment the stamps were taken a time must be to be doubted:
/// file systems keep times at the tick of the kernel's coarse clock, or coarser.
const RACY: Duration = Duration::from_secs(2);

/// The nanoseconds of a time as `stat` gives them (always below a second).
fn nsec(nsec: i64) -> u32 {
    u32::try_from(nsec).unwrap_or_default()
}

impl Stamp {
    pub(crate) fn of(meta: &Metadata) -> Self {
        Self {
            mtime: meta.mtime(),
            ctime: meta.ctime(),
            mtime_nsec: nsec(meta.mtime_nsec()),
            ctime_nsec: nsec(meta.ctime_nsec()),
            size: meta.size(),
            ino: meta.ino(),
            mode: meta.mode(),
            kind_only: false,
        }
    }

    /// The stamp of `path` (symbolic links followed); `None` when it is not there.
    pub(crate) fn of_path(path: &Path) -> Option<Self> {
        std::fs::metadata(path).ok().map(|m| Self::of(&m))
    }

    /// The stamp of `path` relative to the open directory `dir`, as [`Self::of_path`]
    /// would take it: the kernel looks it up from there rather than from `/` (the
    /// lint index checks a thousand directories and kustomizations at each run).
    pub(crate) fn at(dir: &std::fs::File, path: &Path) -> Option<Self> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        let st = nix::sys::stat::fstatat(dir, path, nix::fcntl::AtFlags::empty()).ok()?;
        Some(Self {
            mtime: st.st_mtime,
            ctime: st.st_ctime,
            mtime_nsec: nsec(st.st_mtime_nsec),
            ctime_nsec: nsec(st.st_ctime_nsec),
            size: u64::try_from(st.st_size).unwrap_or_default(),
            ino: st.st_ino,
            mode: st.st_mode,
            kind_only: false,
        })
    }

    /// Only what kind of file `path` is (a directory, a file), for what matters by
    /// being there rather than by its content: `.git`, whose times change at every
    /// commit.
    pub(crate) fn kind_of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            mtime: 0,
            ctime: 0,
            mtime_nsec: 0,
            ctime_nsec: 0,
            size: 0,
            ino: 0,
            mode: meta.mode() & libc_file_type_mask(),
            kind_only: true,
        })
    }

    /// Whether only the kind of file was kept ([`Self::kind_of`]).
    pub(crate) fn kind_only(self) -> bool {
        self.kind_only
    }

    /// The stamp of `path` now, taken the way this one was.
    pub(crate) fn again(self, path: &Path) -> Option<Self> {
        if self.kind_only {
            Self::kind_of(path)
        } else {
            Self::of_path(path)
        }
    }

    /// Whether this stamp, taken at `taken`, can be trusted: its modification time
    /// is not within [`RACY`] of that moment.
    pub(crate) fn settled(self, taken: SystemTime) -> bool {
        if self.kind_only {
            return true;
        }
        let Ok(since) = taken
            .checked_sub(RACY)
            .unwrap_or(UNIX_EPOCH)
            .duration_since(UNIX_EPOCH)
        else {
            return false;
        };
        let limit = (
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            since.subsec_nanos(),
        );
        (self.mtime, self.mtime_nsec) < limit
    }
}

/// `S_IFMT`: the bits of a mode that say what kind of file it is.
const fn libc_file_type_mask() -> u32 {
    0o170_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_taken_relative_to_a_directory_is_the_one_taken_by_path() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("sub/a.yaml", root.join("link.yaml")).unwrap();
        let dir = std::fs::File::open(root).unwrap();
        for path in ["", "sub", "sub/a.yaml", "link.yaml"] {
            let by_path = Stamp::of_path(&root.join(path));
            assert!(by_path.is_some(), "{path}");
            assert_eq!(Stamp::at(&dir, Path::new(path)), by_path, "{path}");
        }
        assert_eq!(Stamp::at(&dir, Path::new("missing.yaml")), None);
    }
}
