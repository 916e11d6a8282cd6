//! The OOXML writer: a [`Deck`] as a PresentationML package (a 16:9 .pptx) that PowerPoint,
//! Keynote, LibreOffice and python-pptx open. Text stays text (editable), the first heading of a
//! slide is its title placeholder, tables are real tables and speaker notes are notes pages.

use std::fmt::Write as _;

use crate::css::Color;
use crate::deck::{
    Anchor, Bullet, Deck, Frame, Paragraph, Picture, Run, Shape, Slide, Table, TextBox,
};
use crate::style::{Align, Fill};
use crate::zip::ZipWriter;

/// A slide's width in EMU (13.333 inches; 7.5 inches high at 16:9).
const SLIDE_CX: i64 = 12_192_000;
/// EMU per point.
const EMU_PER_PT: f32 = 12_700.0;

const NS: &str = r#"xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main""#;
const DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CT: &str = "application/vnd.openxmlformats-officedocument.presentationml";

/// Escapes text for XML, dropping characters XML 1.0 cannot hold.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// Converts slide pixels to EMU and points.
struct Units {
    emu_per_px: f32,
}

impl Units {
    fn emu(&self, px: f32) -> i64 {
        (px * self.emu_per_px).round() as i64
    }

    /// Hundredths of a point, as `sz` and `spcPts` take them.
    fn centipoints(&self, px: f32) -> i64 {
        (px * self.emu_per_px / EMU_PER_PT * 100.0).round() as i64
    }
}

fn rels(entries: &[(String, &str, String)]) -> String {
    let mut xml = format!(
        "{DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    );
    for (id, kind, target) in entries {
        let _ = write!(
            xml,
            "<Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{}\"/>",
            esc(target)
        );
    }
    xml.push_str("</Relationships>");
    xml
}

fn color_xml(color: Color) -> String {
    if color.alpha < 1.0 {
        format!(
            "<a:srgbClr val=\"{}\"><a:alpha val=\"{}\"/></a:srgbClr>",
            color.hex(),
            (color.alpha.clamp(0.0, 1.0) * 100_000.0).round() as i64
        )
    } else {
        format!("<a:srgbClr val=\"{}\"/>", color.hex())
    }
}

fn fill_xml(fill: Option<&Fill>) -> String {
    match fill {
        None => "<a:noFill/>".to_owned(),
        Some(Fill::Solid(c)) => format!("<a:solidFill>{}</a:solidFill>", color_xml(*c)),
        Some(Fill::Gradient(g)) => {
            let mut xml = String::from("<a:gradFill rotWithShape=\"1\"><a:gsLst>");
            for (color, position) in &g.stops {
                let _ = write!(
                    xml,
                    "<a:gs pos=\"{}\">{}</a:gs>",
                    (position * 100_000.0).round() as i64,
                    color_xml(*color)
                );
            }
            // CSS measures from "towards the top", clockwise; DrawingML from "towards the
            // right", clockwise.
            let angle = (g.angle - 90.0).rem_euclid(360.0);
            let _ = write!(
                xml,
                "</a:gsLst><a:lin ang=\"{}\" scaled=\"0\"/></a:gradFill>",
                (angle * 60_000.0).round() as i64
            );
            xml
        }
    }
}

fn xfrm(units: &Units, rect: &crate::deck::Rect, tag: &str) -> String {
    format!(
        "<{tag}><a:off x=\"{}\" y=\"{}\"/><a:ext cx=\"{}\" cy=\"{}\"/></{tag}>",
        units.emu(rect.x),
        units.emu(rect.y),
        units.emu(rect.w.max(1.0)),
        units.emu(rect.h.max(1.0))
    )
}

fn shape_properties(units: &Units, frame: &Frame) -> String {
    let geometry = if frame.radius > 0.0 {
        let shortest = frame.rect.w.min(frame.rect.h).max(1.0);
        let adjust = ((frame.radius / shortest) * 100_000.0)
            .round()
            .min(50_000.0) as i64;
        format!("<a:prstGeom prst=\"roundRect\"><a:avLst><a:gd name=\"adj\" fmla=\"val {adjust}\"/></a:avLst></a:prstGeom>")
    } else {
        "<a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom>".to_owned()
    };
    let line = match frame.line {
        Some(line) => format!(
            "<a:ln w=\"{}\"><a:solidFill>{}</a:solidFill></a:ln>",
            units.emu(line.width),
            color_xml(line.color)
        ),
        None => "<a:ln><a:noFill/></a:ln>".to_owned(),
    };
    format!(
        "<p:spPr>{}{geometry}{}{line}</p:spPr>",
        xfrm(units, &frame.rect, "a:xfrm"),
        fill_xml(frame.fill.as_ref())
    )
}

fn run_properties(units: &Units, style: &crate::deck::RunStyle, tag: &str) -> String {
    let mut xml = format!(
        "<{tag} lang=\"en-US\" sz=\"{}\" b=\"{}\" i=\"{}\"",
        units.centipoints(style.size).clamp(100, 400_000),
        u8::from(style.bold),
        u8::from(style.italic)
    );
    if style.underline {
        xml.push_str(" u=\"sng\"");
    }
    if style.strike {
        xml.push_str(" strike=\"sngStrike\"");
    }
    let _ = write!(
        xml,
        " dirty=\"0\"><a:solidFill>{}</a:solidFill>",
        color_xml(style.color)
    );
    if let Some(font) = &style.font {
        let font = esc(font);
        let _ = write!(
            xml,
            "<a:latin typeface=\"{font}\"/><a:ea typeface=\"{font}\"/><a:cs typeface=\"{font}\"/>"
        );
    }
    let _ = write!(xml, "</{tag}>");
    xml
}

fn paragraph_xml(units: &Units, paragraph: &Paragraph) -> String {
    let align = match paragraph.align {
        Align::Left => "l",
        Align::Center => "ctr",
        Align::Right => "r",
        Align::Justify => "just",
    };
    let mut xml = format!("<a:p><a:pPr algn=\"{align}\"");
    if paragraph.level > 0 {
        let _ = write!(xml, " lvl=\"{}\"", paragraph.level.min(8));
    }
    let first_size = paragraph.runs.iter().find_map(|r| match r {
        Run::Text { style, .. } => Some(style),
        Run::Break => None,
    });
    if paragraph.indent > 0.0 || paragraph.bullet.is_some() {
        let hanging = match (&paragraph.bullet, first_size) {
            (Some(_), Some(s)) => s.size * 1.1,
            _ => 0.0,
        };
        let _ = write!(
            xml,
            " marL=\"{}\" indent=\"{}\"",
            units.emu(paragraph.indent.max(hanging)),
            -units.emu(hanging.min(paragraph.indent.max(hanging)))
        );
    }
    let _ = write!(
        xml,
        "><a:lnSpc><a:spcPts val=\"{}\"/></a:lnSpc>",
        units.centipoints(paragraph.line_height).clamp(0, 158_400)
    );
    if paragraph.space_before > 0.0 {
        let _ = write!(
            xml,
            "<a:spcBef><a:spcPts val=\"{}\"/></a:spcBef>",
            units.centipoints(paragraph.space_before).clamp(0, 158_400)
        );
    }
    match &paragraph.bullet {
        None => xml.push_str("<a:buNone/>"),
        Some(bullet) => {
            if let Some(style) = first_size {
                let _ = write!(xml, "<a:buClr>{}</a:buClr>", color_xml(style.color));
            }
            match bullet {
                Bullet::Char(c) => {
                    let _ = write!(
                        xml,
                        "<a:buFont typeface=\"Arial\"/><a:buChar char=\"{}\"/>",
                        esc(&c.to_string())
                    );
                }
                Bullet::Number(scheme, start) => {
                    let _ = write!(xml, "<a:buFont typeface=\"+mj-lt\"/><a:buAutoNum type=\"{scheme}\" startAt=\"{start}\"/>");
                }
            }
        }
    }
    xml.push_str("</a:pPr>");
    for run in &paragraph.runs {
        match run {
            Run::Text { text, style } => {
                let _ = write!(
                    xml,
                    "<a:r>{}<a:t>{}</a:t></a:r>",
                    run_properties(units, style, "a:rPr"),
                    esc(text)
                );
            }
            Run::Break => {
                let props = first_size
                    .map(|s| run_properties(units, s, "a:rPr"))
                    .unwrap_or_default();
                let _ = write!(xml, "<a:br>{props}</a:br>");
            }
        }
    }
    if let Some(style) = first_size {
        xml.push_str(&run_properties(units, style, "a:endParaRPr"));
    }
    xml.push_str("</a:p>");
    xml
}

fn anchor_name(anchor: Anchor) -> &'static str {
    match anchor {
        Anchor::Top => "t",
        Anchor::Middle => "ctr",
        Anchor::Bottom => "b",
    }
}

fn text_body(
    units: &Units,
    tag: &str,
    insets: [f32; 4],
    anchor: Anchor,
    paragraphs: &[Paragraph],
) -> String {
    let mut xml = format!(
        "<{tag}><a:bodyPr wrap=\"square\" lIns=\"{}\" tIns=\"{}\" rIns=\"{}\" bIns=\"{}\" anchor=\"{}\" rtlCol=\"0\"><a:noAutofit/></a:bodyPr><a:lstStyle/>",
        units.emu(insets[3]),
        units.emu(insets[0]),
        units.emu(insets[1]),
        units.emu(insets[2]),
        anchor_name(anchor)
    );
    if paragraphs.is_empty() {
        xml.push_str("<a:p><a:endParaRPr lang=\"en-US\"/></a:p>");
    }
    for paragraph in paragraphs {
        xml.push_str(&paragraph_xml(units, paragraph));
    }
    let _ = write!(xml, "</{tag}>");
    xml
}

fn text_box_xml(units: &Units, id: usize, text: &TextBox) -> String {
    let (name, properties) = if text.title {
        (
            format!("Title {id}"),
            "<p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"title\"/></p:nvPr>".to_owned(),
        )
    } else {
        (
            format!("TextBox {id}"),
            "<p:cNvSpPr txBox=\"1\"/><p:nvPr/>".to_owned(),
        )
    };
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/>{properties}</p:nvSpPr>{}{}</p:sp>",
        shape_properties(units, &text.frame),
        text_body(
            units,
            "p:txBody",
            text.insets,
            text.anchor,
            &text.paragraphs
        )
    )
}

fn box_xml(units: &Units, id: usize, frame: &Frame) -> String {
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"Shape {id}\"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>{}</p:sp>",
        shape_properties(units, frame)
    )
}

fn picture_xml(units: &Units, id: usize, picture: &Picture, relationship: &str) -> String {
    let crop = if picture.crop.iter().any(|&c| c > 0.0) {
        let [l, t, r, b] = picture.crop.map(|c| (c * 100_000.0).round() as i64);
        format!("<a:srcRect l=\"{l}\" t=\"{t}\" r=\"{r}\" b=\"{b}\"/>")
    } else {
        String::new()
    };
    format!(
        "<p:pic><p:nvPicPr><p:cNvPr id=\"{id}\" name=\"Picture {id}\" descr=\"{}\"/><p:cNvPicPr><a:picLocks noChangeAspect=\"1\"/></p:cNvPicPr><p:nvPr/></p:nvPicPr><p:blipFill><a:blip r:embed=\"{relationship}\"/>{crop}<a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr>{}<a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr></p:pic>",
        esc(&picture.description),
        xfrm(units, &picture.rect, "a:xfrm")
    )
}

fn table_xml(units: &Units, id: usize, table: &Table) -> String {
    let mut xml = format!(
        "<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id=\"{id}\" name=\"Table {id}\"/><p:cNvGraphicFramePr><a:graphicFrameLocks noGrp=\"1\"/></p:cNvGraphicFramePr><p:nvPr/></p:nvGraphicFramePr>{}<a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/table\"><a:tbl><a:tblPr firstRow=\"1\" bandRow=\"1\"/><a:tblGrid>",
        xfrm(units, &table.rect, "p:xfrm")
    );
    for width in &table.columns {
        let _ = write!(xml, "<a:gridCol w=\"{}\"/>", units.emu(*width));
    }
    xml.push_str("</a:tblGrid>");
    for row in &table.rows {
        let _ = write!(xml, "<a:tr h=\"{}\">", units.emu(row.height));
        for cell in &row.cells {
            let span = match cell.span {
                0 => " hMerge=\"1\"".to_owned(),
                1 => String::new(),
                n => format!(" gridSpan=\"{n}\""),
            };
            let _ = write!(
                xml,
                "<a:tc{span}>{}<a:tcPr marL=\"{}\" marR=\"{}\" marT=\"{}\" marB=\"{}\" anchor=\"{}\">",
                text_body(units, "a:txBody", [0.0; 4], cell.anchor, &cell.paragraphs),
                units.emu(cell.insets[3]),
                units.emu(cell.insets[1]),
                units.emu(cell.insets[0]),
                units.emu(cell.insets[2]),
                anchor_name(cell.anchor)
            );
            for (side, line) in [("a:lnL", 3), ("a:lnR", 1), ("a:lnT", 0), ("a:lnB", 2)] {
                match cell.lines[line] {
                    Some(line) => {
                        let _ = write!(
                            xml,
                            "<{side} w=\"{}\"><a:solidFill>{}</a:solidFill></{side}>",
                            units.emu(line.width),
                            color_xml(line.color)
                        );
                    }
                    None => {
                        let _ = write!(xml, "<{side} w=\"0\"><a:noFill/></{side}>");
                    }
                }
            }
            let _ = write!(xml, "{}</a:tcPr></a:tc>", fill_xml(cell.fill.as_ref()));
        }
        xml.push_str("</a:tr>");
    }
    xml.push_str("</a:tbl></a:graphicData></a:graphic></p:graphicFrame>");
    xml
}

const GROUP: &str = "<p:nvGrpSpPr><p:cNvPr id=\"1\" name=\"\"/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"0\" cy=\"0\"/><a:chOff x=\"0\" y=\"0\"/><a:chExt cx=\"0\" cy=\"0\"/></a:xfrm></p:grpSpPr>";

/// A slide's XML and the images it uses (by deck index, in relationship order from `rId2`).
fn slide_xml(units: &Units, slide: &Slide) -> (String, Vec<usize>) {
    let mut images: Vec<usize> = Vec::new();
    let mut xml = format!("{DECL}<p:sld {NS}><p:cSld>");
    if let Some(fill) = &slide.background {
        let _ = write!(
            xml,
            "<p:bg><p:bgPr>{}<a:effectLst/></p:bgPr></p:bg>",
            fill_xml(Some(fill))
        );
    }
    let _ = write!(xml, "<p:spTree>{GROUP}");
    for (i, shape) in slide.shapes.iter().enumerate() {
        let id = i + 2;
        xml.push_str(&match shape {
            Shape::Box(frame) => box_xml(units, id, frame),
            Shape::Text(text) => text_box_xml(units, id, text),
            Shape::Picture(picture) => {
                let position = images
                    .iter()
                    .position(|&i| i == picture.image)
                    .unwrap_or_else(|| {
                        images.push(picture.image);
                        images.len() - 1
                    });
                picture_xml(units, id, picture, &format!("rId{}", position + 2))
            }
            Shape::Table(table) => table_xml(units, id, table),
        });
    }
    xml.push_str("</p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>");
    (xml, images)
}

const CLR_MAP: &str = "<p:clrMap bg1=\"lt1\" tx1=\"dk1\" bg2=\"lt2\" tx2=\"dk2\" accent1=\"accent1\" accent2=\"accent2\" accent3=\"accent3\" accent4=\"accent4\" accent5=\"accent5\" accent6=\"accent6\" hlink=\"hlink\" folHlink=\"folHlink\"/>";

fn placeholder(id: usize, name: &str, kind: &str, x: i64, y: i64, cx: i64, cy: i64) -> String {
    format!(
        "<p:sp><p:nvSpPr><p:cNvPr id=\"{id}\" name=\"{name}\"/><p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr><p:nvPr><p:ph {kind}/></p:nvPr></p:nvSpPr><p:spPr><a:xfrm><a:off x=\"{x}\" y=\"{y}\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></p:spPr><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang=\"en-US\"/></a:p></p:txBody></p:sp>"
    )
}

fn level_style(size: u32) -> String {
    format!("<a:lvl1pPr><a:defRPr sz=\"{size}\"><a:solidFill><a:schemeClr val=\"tx1\"/></a:solidFill><a:latin typeface=\"+mn-lt\"/><a:ea typeface=\"+mn-ea\"/><a:cs typeface=\"+mn-cs\"/></a:defRPr></a:lvl1pPr>")
}

fn slide_master() -> String {
    format!(
        "{DECL}<p:sldMaster {NS}><p:cSld><p:bg><p:bgRef idx=\"1001\"><a:schemeClr val=\"bg1\"/></p:bgRef></p:bg><p:spTree>{GROUP}{}{}</p:spTree></p:cSld>{CLR_MAP}<p:sldLayoutIdLst><p:sldLayoutId id=\"2147483649\" r:id=\"rId1\"/></p:sldLayoutIdLst><p:txStyles><p:titleStyle>{}</p:titleStyle><p:bodyStyle>{}</p:bodyStyle><p:otherStyle>{}</p:otherStyle></p:txStyles></p:sldMaster>",
        placeholder(2, "Title Placeholder 1", "type=\"title\"", 838_200, 365_125, 10_515_600, 1_325_563),
        placeholder(3, "Text Placeholder 2", "type=\"body\" idx=\"1\"", 838_200, 1_825_625, 10_515_600, 4_351_338),
        level_style(4400),
        level_style(2800),
        level_style(1800),
    )
}

fn slide_layout() -> String {
    format!(
        "{DECL}<p:sldLayout {NS} type=\"titleOnly\" preserve=\"1\"><p:cSld name=\"Title Only\"><p:spTree>{GROUP}<p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Title 1\"/><p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"title\"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:endParaRPr lang=\"en-US\"/></a:p></p:txBody></p:sp></p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>"
    )
}

fn notes_master() -> String {
    format!(
        "{DECL}<p:notesMaster {NS}><p:cSld><p:bg><p:bgRef idx=\"1001\"><a:schemeClr val=\"bg1\"/></p:bgRef></p:bg><p:spTree>{GROUP}{}{}</p:spTree></p:cSld>{CLR_MAP}</p:notesMaster>",
        placeholder(2, "Slide Image Placeholder 1", "type=\"sldImg\" idx=\"2\"", 685_800, 1_143_000, 5_486_400, 3_086_100),
        placeholder(3, "Notes Placeholder 2", "type=\"body\" idx=\"1\"", 685_800, 4_400_550, 5_486_400, 3_600_450),
    )
}

fn notes_slide(notes: &str) -> String {
    let mut paragraphs = String::new();
    for line in notes.lines() {
        let _ = write!(
            paragraphs,
            "<a:p><a:r><a:rPr lang=\"en-US\" dirty=\"0\"/><a:t>{}</a:t></a:r></a:p>",
            esc(line)
        );
    }
    format!(
        "{DECL}<p:notes {NS}><p:cSld><p:spTree>{GROUP}<p:sp><p:nvSpPr><p:cNvPr id=\"2\" name=\"Slide Image Placeholder 1\"/><p:cNvSpPr><a:spLocks noGrp=\"1\" noRot=\"1\" noChangeAspect=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"sldImg\"/></p:nvPr></p:nvSpPr><p:spPr/></p:sp><p:sp><p:nvSpPr><p:cNvPr id=\"3\" name=\"Notes Placeholder 2\"/><p:cNvSpPr><a:spLocks noGrp=\"1\"/></p:cNvSpPr><p:nvPr><p:ph type=\"body\" idx=\"1\"/></p:nvPr></p:nvSpPr><p:spPr/><p:txBody><a:bodyPr/><a:lstStyle/>{paragraphs}</p:txBody></p:sp></p:spTree></p:cSld><p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:notes>"
    )
}

fn theme() -> String {
    let colors = [
        ("dk1", "000000"),
        ("lt1", "FFFFFF"),
        ("dk2", "1F2937"),
        ("lt2", "F3F4F6"),
        ("accent1", "2563EB"),
        ("accent2", "F97316"),
        ("accent3", "6B7280"),
        ("accent4", "EAB308"),
        ("accent5", "0EA5E9"),
        ("accent6", "22C55E"),
        ("hlink", "2563EB"),
        ("folHlink", "7C3AED"),
    ];
    let mut scheme = String::new();
    for (name, hex) in colors {
        let _ = write!(scheme, "<a:{name}><a:srgbClr val=\"{hex}\"/></a:{name}>");
    }
    let font = |latin: &str| {
        format!("<a:latin typeface=\"{latin}\"/><a:ea typeface=\"\"/><a:cs typeface=\"\"/>")
    };
    let solid = "<a:solidFill><a:schemeClr val=\"phClr\"/></a:solidFill>";
    let line = format!("<a:ln w=\"9525\">{solid}</a:ln>");
    let effect = "<a:effectStyle><a:effectLst/></a:effectStyle>";
    format!(
        "{DECL}<a:theme xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" name=\"OKCVM\"><a:themeElements><a:clrScheme name=\"OKCVM\">{scheme}</a:clrScheme><a:fontScheme name=\"OKCVM\"><a:majorFont>{}</a:majorFont><a:minorFont>{}</a:minorFont></a:fontScheme><a:fmtScheme name=\"OKCVM\"><a:fillStyleLst>{solid}{solid}{solid}</a:fillStyleLst><a:lnStyleLst>{line}{line}{line}</a:lnStyleLst><a:effectStyleLst>{effect}{effect}{effect}</a:effectStyleLst><a:bgFillStyleLst>{solid}{solid}{solid}</a:bgFillStyleLst></a:fmtScheme></a:themeElements><a:objectDefaults/><a:extraClrSchemeLst/></a:theme>",
        font("Arial"),
        font("Arial"),
    )
}

/// The .pptx package of `deck`.
pub(crate) fn write(deck: &Deck) -> Result<Vec<u8>, String> {
    let units = Units {
        emu_per_px: SLIDE_CX as f32 / deck.width.max(1.0),
    };
    let has_notes = deck.slides.iter().any(|s| s.notes.is_some());
    let mut zip = ZipWriter::new();
    let add = |zip: &mut ZipWriter, name: &str, xml: String| zip.add(name, xml.as_bytes(), true);

    // Content types.
    let mut types = format!("{DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/>");
    let slides: Vec<(String, Vec<usize>)> =
        deck.slides.iter().map(|s| slide_xml(&units, s)).collect();
    let mut used: Vec<usize> = slides
        .iter()
        .flat_map(|(_, images)| images.iter().copied())
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut formats: Vec<(&str, &str)> = used.iter().map(|&i| deck.images[i].format).collect();
    formats.sort_unstable();
    formats.dedup();
    for (extension, mime) in formats {
        let _ = write!(
            types,
            "<Default Extension=\"{extension}\" ContentType=\"{mime}\"/>"
        );
    }
    let mut overrides = vec![
        (
            "/ppt/presentation.xml".to_owned(),
            format!("{CT}.presentation.main+xml"),
        ),
        (
            "/ppt/slideMasters/slideMaster1.xml".into(),
            format!("{CT}.slideMaster+xml"),
        ),
        (
            "/ppt/slideLayouts/slideLayout1.xml".into(),
            format!("{CT}.slideLayout+xml"),
        ),
        (
            "/ppt/theme/theme1.xml".into(),
            "application/vnd.openxmlformats-officedocument.theme+xml".into(),
        ),
        ("/ppt/presProps.xml".into(), format!("{CT}.presProps+xml")),
        ("/ppt/viewProps.xml".into(), format!("{CT}.viewProps+xml")),
        (
            "/ppt/tableStyles.xml".into(),
            format!("{CT}.tableStyles+xml"),
        ),
        (
            "/docProps/core.xml".into(),
            "application/vnd.openxmlformats-package.core-properties+xml".into(),
        ),
        (
            "/docProps/app.xml".into(),
            "application/vnd.openxmlformats-officedocument.extended-properties+xml".into(),
        ),
    ];
    if has_notes {
        overrides.push((
            "/ppt/notesMasters/notesMaster1.xml".into(),
            format!("{CT}.notesMaster+xml"),
        ));
        overrides.push((
            "/ppt/theme/theme2.xml".into(),
            "application/vnd.openxmlformats-officedocument.theme+xml".into(),
        ));
    }
    for (i, slide) in deck.slides.iter().enumerate() {
        overrides.push((
            format!("/ppt/slides/slide{}.xml", i + 1),
            format!("{CT}.slide+xml"),
        ));
        if slide.notes.is_some() {
            overrides.push((
                format!("/ppt/notesSlides/notesSlide{}.xml", i + 1),
                format!("{CT}.notesSlide+xml"),
            ));
        }
    }
    for (part, kind) in overrides {
        let _ = write!(
            types,
            "<Override PartName=\"{part}\" ContentType=\"{kind}\"/>"
        );
    }
    types.push_str("</Types>");
    add(&mut zip, "[Content_Types].xml", types)?;

    add(&mut zip, "_rels/.rels", rels(&[
        ("rId1".into(), &format!("{REL}/officeDocument"), "ppt/presentation.xml".into()),
        ("rId2".into(), "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties", "docProps/core.xml".into()),
        ("rId3".into(), &format!("{REL}/extended-properties"), "docProps/app.xml".into()),
    ]))?;
    let title = esc(deck.title.as_deref().unwrap_or_default());
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    add(&mut zip, "docProps/core.xml", format!("{DECL}<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{title}</dc:title><dc:creator>OKCVM</dc:creator><dcterms:created xsi:type=\"dcterms:W3CDTF\">{now}</dcterms:created><dcterms:modified xsi:type=\"dcterms:W3CDTF\">{now}</dcterms:modified></cp:coreProperties>"))?;
    add(&mut zip, "docProps/app.xml", format!("{DECL}<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>OKCVM</Application><PresentationFormat>Widescreen</PresentationFormat><Slides>{}</Slides><Notes>{}</Notes></Properties>", deck.slides.len(), deck.slides.iter().filter(|s| s.notes.is_some()).count()))?;

    // The presentation and its relationships.
    let mut presentation_rels = vec![
        (
            "rId1".to_owned(),
            format!("{REL}/slideMaster"),
            "slideMasters/slideMaster1.xml".to_owned(),
        ),
        (
            "rId2".into(),
            format!("{REL}/theme"),
            "theme/theme1.xml".into(),
        ),
        (
            "rId3".into(),
            format!("{REL}/presProps"),
            "presProps.xml".into(),
        ),
        (
            "rId4".into(),
            format!("{REL}/viewProps"),
            "viewProps.xml".into(),
        ),
        (
            "rId5".into(),
            format!("{REL}/tableStyles"),
            "tableStyles.xml".into(),
        ),
    ];
    let mut presentation = format!("{DECL}<p:presentation {NS} saveSubsetFonts=\"1\"><p:sldMasterIdLst><p:sldMasterId id=\"2147483648\" r:id=\"rId1\"/></p:sldMasterIdLst>");
    if has_notes {
        presentation_rels.push((
            "rId6".into(),
            format!("{REL}/notesMaster"),
            "notesMasters/notesMaster1.xml".into(),
        ));
        presentation
            .push_str("<p:notesMasterIdLst><p:notesMasterId r:id=\"rId6\"/></p:notesMasterIdLst>");
    }
    presentation.push_str("<p:sldIdLst>");
    for i in 0..deck.slides.len() {
        let id = format!("rId{}", 100 + i);
        let _ = write!(presentation, "<p:sldId id=\"{}\" r:id=\"{id}\"/>", 256 + i);
        presentation_rels.push((
            id,
            format!("{REL}/slide"),
            format!("slides/slide{}.xml", i + 1),
        ));
    }
    let slide_cy = units.emu(deck.height).clamp(914_400, 51_206_400);
    let _ = write!(presentation, "</p:sldIdLst><p:sldSz cx=\"{SLIDE_CX}\" cy=\"{slide_cy}\"/><p:notesSz cx=\"6858000\" cy=\"9144000\"/></p:presentation>");
    add(&mut zip, "ppt/presentation.xml", presentation)?;
    let borrowed: Vec<(String, &str, String)> = presentation_rels
        .iter()
        .map(|(a, b, c)| (a.clone(), b.as_str(), c.clone()))
        .collect();
    add(&mut zip, "ppt/_rels/presentation.xml.rels", rels(&borrowed))?;
    add(
        &mut zip,
        "ppt/presProps.xml",
        format!("{DECL}<p:presentationPr {NS}/>"),
    )?;
    add(
        &mut zip,
        "ppt/viewProps.xml",
        format!("{DECL}<p:viewPr {NS}/>"),
    )?;
    add(&mut zip, "ppt/tableStyles.xml", format!("{DECL}<a:tblStyleLst xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" def=\"{{5C22544A-7EE6-4342-B048-85BDC9FD1C3A}}\"/>"))?;
    add(&mut zip, "ppt/theme/theme1.xml", theme())?;
    add(
        &mut zip,
        "ppt/slideMasters/slideMaster1.xml",
        slide_master(),
    )?;
    add(
        &mut zip,
        "ppt/slideMasters/_rels/slideMaster1.xml.rels",
        rels(&[
            (
                "rId1".into(),
                &format!("{REL}/slideLayout"),
                "../slideLayouts/slideLayout1.xml".into(),
            ),
            (
                "rId2".into(),
                &format!("{REL}/theme"),
                "../theme/theme1.xml".into(),
            ),
        ]),
    )?;
    add(
        &mut zip,
        "ppt/slideLayouts/slideLayout1.xml",
        slide_layout(),
    )?;
    add(
        &mut zip,
        "ppt/slideLayouts/_rels/slideLayout1.xml.rels",
        rels(&[(
            "rId1".into(),
            &format!("{REL}/slideMaster"),
            "../slideMasters/slideMaster1.xml".into(),
        )]),
    )?;
    if has_notes {
        add(&mut zip, "ppt/theme/theme2.xml", theme())?;
        add(
            &mut zip,
            "ppt/notesMasters/notesMaster1.xml",
            notes_master(),
        )?;
        add(
            &mut zip,
            "ppt/notesMasters/_rels/notesMaster1.xml.rels",
            rels(&[(
                "rId1".into(),
                &format!("{REL}/theme"),
                "../theme/theme2.xml".into(),
            )]),
        )?;
    }

    // Slides, their notes and their images.
    let image_rel = format!("{REL}/image");
    for (i, (slide, (xml, images))) in deck.slides.iter().zip(slides).enumerate() {
        let n = i + 1;
        add(&mut zip, &format!("ppt/slides/slide{n}.xml"), xml)?;
        let layout_rel = format!("{REL}/slideLayout");
        let mut slide_rels: Vec<(String, &str, String)> = vec![(
            "rId1".into(),
            &layout_rel,
            "../slideLayouts/slideLayout1.xml".into(),
        )];
        for (position, &image) in images.iter().enumerate() {
            let extension = deck.images[image].format.0;
            slide_rels.push((
                format!("rId{}", position + 2),
                &image_rel,
                format!("../media/image{}.{extension}", image + 1),
            ));
        }
        let notes_rel = format!("{REL}/notesSlide");
        if let Some(notes) = &slide.notes {
            slide_rels.push((
                "rIdNotes".into(),
                &notes_rel,
                format!("../notesSlides/notesSlide{n}.xml"),
            ));
            add(
                &mut zip,
                &format!("ppt/notesSlides/notesSlide{n}.xml"),
                notes_slide(notes),
            )?;
            add(
                &mut zip,
                &format!("ppt/notesSlides/_rels/notesSlide{n}.xml.rels"),
                rels(&[
                    (
                        "rId1".into(),
                        &format!("{REL}/notesMaster"),
                        "../notesMasters/notesMaster1.xml".into(),
                    ),
                    (
                        "rId2".into(),
                        &format!("{REL}/slide"),
                        format!("../slides/slide{n}.xml"),
                    ),
                ]),
            )?;
        }
        add(
            &mut zip,
            &format!("ppt/slides/_rels/slide{n}.xml.rels"),
            rels(&slide_rels),
        )?;
    }
    for i in used {
        let image = &deck.images[i];
        zip.add(
            &format!("ppt/media/image{}.{}", i + 1, image.format.0),
            &image.bytes,
            false,
        )?;
    }
    zip.finish()
}
