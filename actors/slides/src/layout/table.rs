//! Tables: columns sized by their content (a table with a width spreads them over it), rows
//! as tall as their tallest cell, cells with their spans, fills and borders as one table shape.

use super::paint::{border_line, side_lines};
use super::{resolve, sides, Area, Layouter};
use crate::css::Length;
use crate::deck::{Anchor, Paragraph, Rect, Shape, Table, TableCell, TableRow};
use crate::document::Element;
use crate::text::{self, Runs};

impl Layouter<'_, '_> {
    /// A table: columns sized by their content, rows as tall as their tallest cell.
    pub(super) fn table(&mut self, table: &Element, area: Area) -> f32 {
        let mut rows: Vec<(&Element, Option<&Element>)> = Vec::new();
        for child in table.elements() {
            match child.tag.as_str() {
                "tr" => rows.push((child, None)),
                "thead" | "tbody" | "tfoot" => rows.extend(
                    child
                        .elements()
                        .filter(|r| r.tag == "tr")
                        .map(|r| (r, Some(child))),
                ),
                _ => {}
            }
        }
        let columns = rows
            .iter()
            .map(|(r, _)| r.elements().map(|c| c.colspan).sum::<usize>())
            .max()
            .unwrap_or(0);
        if columns == 0 {
            return 0.0;
        }
        let mut natural = vec![0.0f32; columns];
        for (row, _) in &rows {
            let mut c = 0;
            for cell in row.elements() {
                if cell.colspan == 1 && c < columns {
                    let w = resolve(cell.style.width, area.w, &cell.style)
                        .unwrap_or_else(|| self.natural_width(cell));
                    natural[c] = natural[c].max(w);
                }
                c += cell.colspan;
            }
        }
        let natural_total: f32 = natural.iter().sum();
        // A table with a width was given it as its box; one without is as wide as its content.
        let table_width = if table.style.width.is_some() {
            area.w
        } else {
            natural_total.min(area.w)
        }
        .max(1.0);
        let widths: Vec<f32> = if natural_total > 0.0 {
            natural
                .iter()
                .map(|w| table_width * w / natural_total)
                .collect()
        } else {
            vec![table_width / columns as f32; columns]
        };
        let table_border = [border_line(&table.style); 4];
        let mut table_rows = Vec::with_capacity(rows.len());
        for (row, section) in &rows {
            let mut cells = Vec::new();
            let mut c = 0;
            let mut height = 0.0f32;
            for cell in row.elements() {
                if c >= columns {
                    break;
                }
                let span = cell.colspan.min(columns - c);
                let width: f32 = widths[c..c + span].iter().sum();
                let insets = sides(&cell.style.padding, area.w, &cell.style);
                let mut runs = Runs::new();
                text::gather(&cell.children, &cell.style, &mut runs, false);
                let runs = runs.finish();
                let paragraphs = vec![Paragraph {
                    line_height: text::paragraph_line_height(&runs, &cell.style),
                    runs,
                    align: cell.style.align,
                    space_before: 0.0,
                    indent: 0.0,
                    level: 0,
                    bullet: None,
                }];
                height = height.max(
                    text::height(&paragraphs, (width - insets[1] - insets[3]).max(1.0))
                        + insets[0]
                        + insets[2],
                );
                let fill = cell
                    .style
                    .background
                    .clone()
                    .or_else(|| row.style.background.clone())
                    .or_else(|| section.and_then(|s| s.style.background.clone()));
                let (own, row_lines) = (side_lines(&cell.style), side_lines(&row.style));
                let lines = [0, 1, 2, 3].map(|i| own[i].or(row_lines[i]).or(table_border[i]));
                cells.push(TableCell {
                    paragraphs,
                    fill,
                    span,
                    insets,
                    lines,
                    anchor: Anchor::Middle,
                });
                for _ in 1..span {
                    cells.push(TableCell {
                        paragraphs: Vec::new(),
                        fill: None,
                        span: 0,
                        insets,
                        lines,
                        anchor: Anchor::Middle,
                    });
                }
                c += span;
            }
            while c < columns {
                cells.push(TableCell {
                    paragraphs: Vec::new(),
                    fill: None,
                    span: 1,
                    insets: [0.0; 4],
                    lines: table_border,
                    anchor: Anchor::Middle,
                });
                c += 1;
            }
            let height = resolve(row.style.height, 0.0, &row.style)
                .unwrap_or(0.0)
                .max(height);
            table_rows.push(TableRow { height, cells });
        }
        let total: f32 = table_rows.iter().map(|r| r.height).sum();
        let x = match table.style.margin[3] {
            Length::Auto => area.x + (area.w - table_width) / 2.0,
            _ => area.x,
        };
        self.shapes.push(Shape::Table(Table {
            rect: Rect {
                x,
                y: area.y,
                w: table_width,
                h: total,
            },
            columns: widths,
            rows: table_rows,
        }));
        total
    }
}
