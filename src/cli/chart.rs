//! Line charts saved as PNG files for `plot` and `sweep`: drawn by plotters into a pixel
//! buffer with an embedded font (no system font lookup), encoded by png.

use anyhow::Context;
use plotters::prelude::*;
use std::path::Path;

/// One line, with an optional shaded band (x, low, high) around it.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub band: Option<Vec<(f64, f64, f64)>>,
}

/// One chart; several are laid out side by side.
pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Names for the integer x positions 0, 1, ... when x is categorical (swept lists, strings).
    pub categories: Option<Vec<String>>,
    /// Draw x on a log scale (positive values spanning a factor of 10 or more, e.g. rates).
    pub log_x: bool,
}

impl Panel {
    /// Whether values are best drawn on a log scale: all positive, spanning 10× or more.
    pub fn wants_log(values: &[f64]) -> bool {
        let (lo, hi) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        values.iter().all(|&v| v > 0.0) && hi >= 10.0 * lo
    }
}

const FONT: &str = "sans-serif";
/// Colours that stay apart on white (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Draws `panels` side by side into a `size` PNG at `path`.
pub fn save_png(path: &Path, size: (u32, u32), panels: &[Panel]) -> anyhow::Result<()> {
    static FONT_REGISTERED: std::sync::Once = std::sync::Once::new();
    FONT_REGISTERED.call_once(|| {
        // The font is a valid TrueType file compiled into the binary: it always parses.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
    let (w, h) = size;
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (area, panel) in areas.iter().zip(panels) {
            draw(area, panel).map_err(|e| anyhow::anyhow!("drawing `{}`: {e}", panel.title))?;
        }
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    write_png(path, size, &pixels)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

fn draw(area: &Area<'_>, panel: &Panel) -> Result<(), Box<dyn std::error::Error>> {
    // A log x axis is drawn as log10(x), its ticks labelled with x itself.
    let to_x = |x: f64| if panel.log_x { x.log10() } else { x };
    let series: Vec<Series> = panel
        .series
        .iter()
        .map(|s| Series {
            label: s.label.clone(),
            points: s.points.iter().map(|&(x, y)| (to_x(x), y)).collect(),
            band: s.band.as_ref().map(|b| b.iter().map(|&(x, lo, hi)| (to_x(x), lo, hi)).collect()),
        })
        .collect();
    let (xs, ys) = ranges(&series, panel.categories.is_some());
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 22))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(xs, ys.clone())?;
    let categories = panel.categories.clone();
    let name_x = move |x: &f64| match &categories {
        Some(names) if (x - x.round()).abs() < 1e-9 => names.get(x.round() as usize).cloned().unwrap_or_default(),
        Some(_) => String::new(),
        None if panel.log_x => log_tick(*x),
        None => format_number(*x),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .x_label_formatter(&name_x)
        .y_label_formatter(&|y| format_number(*y));
    if let Some(names) = &panel.categories {
        mesh.x_labels(names.len());
    }
    if panel.log_x {
        // Many candidate ticks, of which `log_tick` names those at 1, 2 and 5 × 10^k.
        mesh.x_labels(((xs_span(&series) * 100.0).ceil() as usize).clamp(10, 2000)).disable_x_mesh();
    }
    mesh.draw()?;
    for (i, series) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        if let Some(band) = &series.band {
            let outline: Vec<(f64, f64)> =
                band.iter().map(|&(x, _, hi)| (x, hi)).chain(band.iter().rev().map(|&(x, lo, _)| (x, lo))).collect();
            chart.draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.2).filled())))?;
        }
        chart
            .draw_series(LineSeries::new(series.points.iter().copied(), colour.stroke_width(2)))?
            .label(series.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(series.points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    if series.iter().any(|s| !s.label.is_empty()) {
        // The legend goes in the corner the curves' ends leave free.
        let ends: Vec<f64> = series.iter().filter_map(|s| s.points.last().map(|p| p.1)).collect();
        let high = ends.iter().sum::<f64>() / ends.len().max(1) as f64 > (ys.start + ys.end) / 2.0;
        chart
            .configure_series_labels()
            .position(if high { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FONT, 14))
            .draw()?;
    }
    Ok(())
}

/// The x and y ranges that hold every point and band, with a margin.
fn ranges(series: &[Series], categorical: bool) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let points = series.iter().flat_map(|s| {
        let band = s.band.iter().flatten().flat_map(|&(x, lo, hi)| [(x, lo), (x, hi)]);
        s.points.iter().copied().chain(band)
    });
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for (x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = |lo: f64, hi: f64, share: f64| {
        if !lo.is_finite() {
            return -1.0..1.0;
        }
        let span = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
        (lo - span * share)..(hi + span * share)
    };
    let xs = if categorical { (x0 - 0.5)..(x1 + 0.5) } else { pad(x0, x1, 0.02) };
    (xs, pad(y0, y1, 0.06))
}

/// How many decades (log10 units) a log-scale panel's x values span.
fn xs_span(series: &[Series]) -> f64 {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if hi > lo { hi - lo } else { 1.0 }
}

/// The label of a log-scale tick at log10 position `x`: its value when that is 1, 2 or 5 × 10^k.
fn log_tick(x: f64) -> String {
    let decade = x.floor();
    [1f64, 2.0, 5.0, 10.0]
        .iter()
        .find(|m| (x - decade - m.log10()).abs() < 0.006)
        .map_or_else(String::new, |m| format_number(m * 10f64.powf(decade)))
}

/// A tick label: thousands as `12k`, small numbers with the digits they need.
fn format_number(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(&format!("{:.2}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{}k", trim(&format!("{:.2}", v / 1e3)))
    } else if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 0.01 {
        trim(&format!("{v:.3}"))
    } else {
        // 0.0003 as `3e-4`, 0.00125 as `1.25e-3`.
        let s = format!("{v:.2e}");
        let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
        format!("{}e{exponent}", trim(mantissa))
    }
}

/// A decimal without trailing zeros (`2.50` → `2.5`, `3.00` → `3`).
fn trim(s: &str) -> String {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
}

fn write_png(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let file = std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().with_context(|| format!("writing {}", path.display()))?;
    writer.write_image_data(rgb).with_context(|| format!("writing {}", path.display()))?;
    writer.finish().with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
