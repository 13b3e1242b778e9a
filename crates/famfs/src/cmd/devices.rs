//! `famfs devices`: the devices of a mounted file system, as its log
//! records them and as this mount has them.

use std::path::PathBuf;

use anyhow::Result;
use famfs::devices::{self, Error as DevError};
use famfs::meta::Fs;
use famfs_format::fsck::analyze;
use indicatif::HumanBytes;
use serde::Serialize;

use super::mount_point;

#[derive(clap::Args)]
pub struct Args {
    /// JSON output.
    #[arg(long)]
    json: bool,
    /// The mount point.
    mountpoint: PathBuf,
}

/// One device.
#[derive(Serialize, Debug)]
pub struct DeviceOut {
    /// Index in the device table.
    pub index: u32,
    /// The device's name on this host ("dax1.0"), if the mount has it.
    pub name: Option<String>,
    /// Size in bytes (as logged; device 0: the device's).
    pub size: u64,
    /// Its UUID (as logged; device 0: the superblock's device UUID).
    pub uuid: String,
    /// ok, failed, missing (not open here), wrong-label, or unlogged (open
    /// in the mount, not in the log).
    pub state: String,
    /// Why, when the state is not ok.
    pub detail: Option<String>,
    /// Files with memory on it.
    pub files: u64,
    /// Bytes used (metadata and files).
    pub used_bytes: u64,
    /// Bytes free.
    pub free_bytes: u64,
}

pub fn run(a: Args) -> Result<u8> {
    let mpt = mount_point(&a.mountpoint)?;
    let fs = Fs::open(&mpt, false)?;
    let (h, r) = fs.read_log()?;
    let report = analyze(fs.dev_size, &fs.sb, &h, &r);
    let (logged, _) = famfs_format::device_table(fs.dev_size, fs.sb.dev_uuid, &r);
    let table = devices::open_table(&mpt)?;
    let mut out = Vec::new();
    for d in &logged {
        let open = table.iter().find(|(i, _)| *i == d.index).map(|(_, e)| e);
        let space = report.devices.iter().find(|s| s.index == d.index);
        let (state, detail) = match open {
            None => ("missing", Some("not open in this mount".to_string())),
            Some(e) if e.failed => ("failed", Some("memory failure or removal".to_string())),
            Some(_) if d.index == 0 => ("ok", None),
            Some(e) => match devices::attach(&mpt, fs.sb.fs_uuid, d, None, false) {
                Ok(_) => ("ok", None),
                Err(err @ DevError::WrongLabel { .. }) => ("wrong-label", Some(err.to_string())),
                Err(err @ DevError::Size { .. }) => ("wrong-size", Some(err.to_string())),
                Err(err) => ("error", Some(format!("{}: {err}", e.name))),
            },
        };
        out.push(DeviceOut {
            index: d.index,
            name: open.map(|e| e.name.clone()),
            size: d.size,
            uuid: d.uuid.to_string(),
            state: state.into(),
            detail,
            files: space.map_or(0, |s| s.files),
            used_bytes: space.map_or(0, |s| s.used_bytes),
            free_bytes: space.map_or(0, |s| s.free_bytes),
        });
    }
    for (i, e) in table
        .iter()
        .filter(|(i, _)| !logged.iter().any(|d| d.index == *i))
    {
        out.push(DeviceOut {
            index: *i,
            name: Some(e.name.clone()),
            size: e.size,
            uuid: String::new(),
            state: "unlogged".into(),
            detail: Some("open in this mount, not in the log".into()),
            files: 0,
            used_bytes: 0,
            free_bytes: 0,
        });
    }
    out.sort_by_key(|d| d.index);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{:<5} {:<10} {:>11} {:<36} {:<11} {:>7} {:>10} {:>10}",
            "INDEX", "DEVICE", "SIZE", "UUID", "STATE", "FILES", "USED", "FREE"
        );
        for d in &out {
            println!(
                "{:<5} {:<10} {:>11} {:<36} {:<11} {:>7} {:>10} {:>10}",
                d.index,
                d.name.as_deref().unwrap_or("-"),
                HumanBytes(d.size).to_string(),
                if d.uuid.is_empty() { "-" } else { &d.uuid },
                d.state,
                d.files,
                HumanBytes(d.used_bytes).to_string(),
                HumanBytes(d.free_bytes).to_string()
            );
        }
        for d in out.iter().filter(|d| d.detail.is_some() && d.state != "ok") {
            println!(
                "device {}: {}",
                d.index,
                d.detail.as_deref().unwrap_or_default()
            );
        }
    }
    Ok(u8::from(out.iter().any(|d| d.state != "ok")))
}
