//! The sweep's figures as CSV, and as SVG plots for docs/benchmarks.md.

use crate::run::Summary;
use plotters::prelude::*;
use std::io::Write;
use std::path::Path;

pub fn write_csv(path: &Path, rows: &[Summary]) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)?;
    writeln!(
        file,
        "backend,payments,concurrency,commit_ceiling_per_s,fixed_json_per_s,lookup_per_s,issue_per_s,revoke_per_s,\
         revoke_p50_ms,revoke_p99_ms,lookup_p50_ms,lookup_p99_ms,peak_rss_mib,revoke_vs_commit_ceiling,\
         lookup_vs_fixed_json"
    )?;
    for row in rows {
        writeln!(
            file,
            "{},{},{},{:.0},{:.0},{:.0},{:.0},{:.0},{:.2},{:.2},{:.2},{:.2},{:.1},{:.2},{:.2}",
            row.backend,
            row.payments,
            row.concurrency,
            row.commit_ceiling,
            row.fixed_json.per_second(),
            row.lookup.per_second(),
            row.issue.per_second(),
            row.revoke.per_second(),
            row.revoke.latency_ms(0.5),
            row.revoke.latency_ms(0.99),
            row.lookup.latency_ms(0.5),
            row.lookup.latency_ms(0.99),
            row.peak_rss_mib,
            row.revoke_vs_commit_ceiling(),
            row.lookup_vs_fixed_json(),
        )?;
    }
    Ok(())
}

/// Throughput against the number of payments stored (at `concurrency` clients), and
/// against the number of clients (at the first size).
pub fn write_svgs(out: &Path, backend: &str, concurrency: usize, rows: &[Summary]) -> anyhow::Result<()> {
    let first_size = rows[0].payments;
    let mut by_clients: Vec<&Summary> = rows.iter().filter(|row| row.payments <= first_size * 2).collect();
    by_clients.sort_by_key(|row| row.concurrency);
    let mut by_size: Vec<&Summary> = rows.iter().filter(|row| row.concurrency == concurrency).collect();
    by_size.sort_by_key(|row| row.payments);
    chart(
        &out.join(format!("{backend}-payments.svg")),
        &format!("{backend}: requests/s by payments stored ({concurrency} clients)"),
        "payments stored (log scale)",
        &by_size,
        |row| row.payments as f64,
    )?;
    chart(
        &out.join(format!("{backend}-concurrency.svg")),
        &format!("{backend}: requests/s by concurrent clients ({first_size} payments stored)"),
        "concurrent clients (log scale)",
        &by_clients,
        |row| row.concurrency as f64,
    )
}

/// A line of a chart: its name, its colour and the figure it plots.
type Series = (&'static str, RGBColor, fn(&Summary) -> f64);

fn chart(path: &Path, title: &str, x_label: &str, rows: &[&Summary], x_of: fn(&Summary) -> f64) -> anyhow::Result<()> {
    let series: [Series; 5] = [
        ("revoke", RED, |row| row.revoke.per_second()),
        ("lookup", BLUE, |row| row.lookup.per_second()),
        ("issue", GREEN, |row| row.issue.per_second()),
        ("bare commit (baseline)", BLACK, |row| row.commit_ceiling),
        ("fixed JSON (baseline)", MAGENTA, |row| row.fixed_json.per_second()),
    ];
    let x_min = rows.iter().map(|row| x_of(row)).fold(f64::MAX, f64::min);
    let x_max = rows.iter().map(|row| x_of(row)).fold(f64::MIN, f64::max);
    let y_max = rows
        .iter()
        .flat_map(|row| series.iter().map(move |(_, _, y)| y(row)))
        .fold(0.0, f64::max);
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d((x_min..x_max * 1.0001).log_scale(), 0.0..y_max * 1.1)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc("requests per second")
        .draw()?;
    for (name, color, y_of) in series {
        let points: Vec<(f64, f64)> = rows.iter().map(|row| (x_of(row), y_of(row))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(points.into_iter().map(|point| Circle::new(point, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    root.present()?;
    Ok(())
}
