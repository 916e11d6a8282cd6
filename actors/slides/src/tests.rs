//! Decks made by the engine, opened with python-pptx and checked: titles, text and its styles,
//! list nesting, images, tables, backgrounds, notes and positions.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use serde_json::{json, Value};

use super::*;

/// Slide pixels per EMU at 1024 px across.
const EMU_PER_PX: f64 = 12_192_000.0 / 1024.0;

/// A real PNG of `width` x `height` pixels of one colour.
fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend(kind);
        out.extend(data);
        out.extend(crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend(width.to_be_bytes());
    header.extend(height.to_be_bytes());
    header.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let row: Vec<u8> = std::iter::once(0)
        .chain((0..width).flat_map(|_| rgb))
        .collect();
    let raw = row.repeat(height as usize);
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&raw).unwrap();
    chunk(&mut out, b"IDAT", &encoder.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Everything python-pptx reads from a deck, as JSON (positions in slide pixels).
const DUMP: &str = r#"
import json, sys, zipfile
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.enum.dml import MSO_FILL

px = float(sys.argv[2])
deck = Presentation(sys.argv[1])
def color(fill):
    try:
        if fill.type == MSO_FILL.SOLID:
            return str(fill.fore_color.rgb)
        if fill.type == MSO_FILL.GRADIENT:
            return "gradient:" + ",".join(str(s.color.rgb) for s in fill.gradient_stops)
    except Exception as e:
        return "error:" + str(e)
    return None
out = {"width": deck.slide_width / px, "height": deck.slide_height / px, "slides": []}
archive = zipfile.ZipFile(sys.argv[1])
for number, slide in enumerate(deck.slides, 1):
    shapes = []
    for shape in slide.shapes:
        d = {"name": shape.name, "x": shape.left / px, "y": shape.top / px,
             "w": shape.width / px, "h": shape.height / px}
        if shape.has_text_frame:
            d["text"] = shape.text_frame.text
            d["paragraphs"] = [{
                "text": p.text, "level": p.level,
                "runs": [{"text": r.text, "bold": r.font.bold, "italic": r.font.italic,
                          "underline": bool(r.font.underline),
                          "size": r.font.size.pt if r.font.size else None,
                          "font": r.font.name,
                          "color": str(r.font.color.rgb) if r.font.color.type is not None else None}
                         for r in p.runs]} for p in shape.text_frame.paragraphs]
        if shape.shape_type == MSO_SHAPE_TYPE.PICTURE:
            d["image"] = {"type": shape.image.content_type, "size": list(shape.image.size),
                          "crop": [shape.crop_left, shape.crop_top, shape.crop_right, shape.crop_bottom]}
        elif shape.has_table if hasattr(shape, "has_table") else False:
            table = shape.table
            d["table"] = [[cell.text for cell in row.cells] for row in table.rows]
            d["table_fills"] = [[color(cell.fill) for cell in row.cells] for row in table.rows]
        elif hasattr(shape, "fill"):
            d["fill"] = color(shape.fill)
        shapes.append(d)
    out["slides"].append({
        "title": slide.shapes.title.text if slide.shapes.title is not None else None,
        "background": color(slide.background.fill) if slide._element.cSld.bg is not None else None,
        "notes": slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else None,
        "shapes": shapes,
        "xml": archive.read("ppt/slides/slide%d.xml" % number).decode("utf-8"),
    })
print(json.dumps(out))
"#;

/// The deck at `path` as python-pptx reads it.
fn read_deck(path: &Path) -> Value {
    let output = std::process::Command::new("python3")
        .args(["-c", DUMP])
        .arg(path)
        .arg(EMU_PER_PX.to_string())
        .output()
        .expect("python3 runs (the test suite needs python3 with python-pptx)");
    assert!(
        output.status.success(),
        "python-pptx could not read the deck (the test suite needs python-pptx: .ci/run installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What the engine made of a page.
struct Made {
    outline: Vec<Outline>,
    title: Option<String>,
    warnings: Vec<String>,
    /// The deck as python-pptx reads it.
    deck: Value,
}

/// Runs the pipeline on `html`, its images read from `files` (by source as written).
fn make(html: &str, files: &[(&str, Vec<u8>)]) -> Made {
    let load = |source: &str| {
        files
            .iter()
            .find(|(name, _)| *name == source)
            .map(|(_, bytes)| bytes.clone())
            .ok_or_else(|| format!("{source} does not exist"))
    };
    let (deck, warnings) = layout(parse(html).unwrap(), &load, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deck.pptx");
    std::fs::write(&path, write_pptx(&deck).unwrap()).unwrap();
    Made {
        outline: deck.outline(),
        title: deck.title().map(str::to_owned),
        warnings,
        deck: read_deck(&path),
    }
}

fn shape_with_text<'a>(slide: &'a Value, text: &str) -> &'a Value {
    slide["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"].as_str().is_some_and(|t| t.contains(text)))
        .unwrap_or_else(|| panic!("no shape with {text:?} in {slide:#}"))
}

fn near(actual: &Value, expected: f64, tolerance: f64) -> bool {
    (actual.as_f64().unwrap() - expected).abs() <= tolerance
}

const HEAD: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>Quarterly Review</title>
<script src="https://cdn.tailwindcss.com"></script>
<style type="text/tailwindcss">
@layer utilities { .ppt-slide { @apply relative w-[1024px] h-[576px] mx-auto p-[30px] box-border overflow-hidden mb-[40px]; } }
</style></head><body>"#;

#[test]
fn a_tailwind_deck_keeps_titles_styles_lists_and_notes() {
    let html = format!(
        r#"{HEAD}
<div class="ppt-slide bg-gradient-to-br from-blue-600 to-purple-700 flex flex-col items-center justify-center">
  <h1 class="text-5xl font-bold text-white">Quarterly Review</h1>
  <p class="text-xl text-blue-100 mt-4">Results &amp; <em>next steps</em></p>
  <aside class="notes">Welcome everyone.<p>Mention the new team.</p></aside>
</div>
<div class="ppt-slide bg-white">
  <h2 class="text-3xl font-semibold text-gray-800 mb-6">Highlights</h2>
  <ul class="list-disc pl-6 space-y-2 text-lg text-gray-700">
    <li>Revenue up <strong class="text-green-600">12%</strong></li>
    <li>Two new markets
      <ul class="list-[circle] pl-6"><li>Spain</li><li>Brazil</li></ul>
    </li>
    <li>Churn <span style="color:#dc2626; font-style: italic">down</span> to 3%</li>
  </ul>
  <ol class="list-decimal pl-6 mt-4"><li>First</li><li>Second</li></ol>
</div>
</body></html>"#
    );
    let made = make(&html, &[]);
    let deck = made.deck;
    assert_eq!(made.title.as_deref(), Some("Quarterly Review"));
    assert_eq!(
        serde_json::to_value(&made.outline).unwrap(),
        json!([
            {"title": "Quarterly Review", "bullets": ["Results & next steps"]},
            {"title": "Highlights", "bullets": ["Revenue up 12%", "Two new markets", "Spain", "Brazil", "Churn down to 3%", "First", "Second"]},
        ])
    );
    assert!(
        near(&deck["width"], 1024.0, 0.5) && near(&deck["height"], 576.0, 0.5),
        "{deck:#}"
    );

    let first = &deck["slides"][0];
    assert_eq!(first["title"], "Quarterly Review");
    assert_eq!(first["background"], "gradient:2563EB,7E22CE");
    assert_eq!(first["notes"], "Welcome everyone.\nMention the new team.");
    let title = shape_with_text(first, "Quarterly Review");
    let run = &title["paragraphs"][0]["runs"][0];
    assert_eq!(run["bold"], true);
    assert_eq!(run["color"], "FFFFFF");
    assert_eq!(
        run["size"], 45.0,
        "48 px on a 1024 px slide is 45 pt on a 960 pt one"
    );
    let centre = title["x"].as_f64().unwrap() + title["w"].as_f64().unwrap() / 2.0;
    assert!(
        (centre - 512.0).abs() < 2.0,
        "the centred title is centred: {title:#}"
    );
    let subtitle = shape_with_text(first, "Results & next steps");
    assert!(
        subtitle["y"].as_f64().unwrap()
            > title["y"].as_f64().unwrap() + title["h"].as_f64().unwrap()
    );
    let runs = &subtitle["paragraphs"][0]["runs"];
    assert_eq!(runs[1]["text"], "next steps");
    assert_eq!(runs[1]["italic"], true);
    assert_eq!(runs[0]["color"], "DBEAFE");

    let second = &deck["slides"][1];
    assert_eq!(second["title"], "Highlights");
    assert_eq!(second["background"], "FFFFFF");
    assert!(second["notes"].is_null());
    let list = shape_with_text(second, "Revenue");
    let paragraphs = list["paragraphs"].as_array().unwrap();
    let texts: Vec<(&str, u64)> = paragraphs
        .iter()
        .map(|p| (p["text"].as_str().unwrap(), p["level"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        texts,
        [
            ("Revenue up 12%", 0),
            ("Two new markets", 0),
            ("Spain", 1),
            ("Brazil", 1),
            ("Churn down to 3%", 0)
        ]
    );
    let strong = &paragraphs[0]["runs"][1];
    assert_eq!(
        (strong["text"].as_str(), strong["bold"].as_bool()),
        (Some("12%"), Some(true))
    );
    assert_eq!(strong["color"], "16A34A");
    let down = &paragraphs[4]["runs"][1];
    assert_eq!(
        (down["color"].as_str(), down["italic"].as_bool()),
        (Some("DC2626"), Some(true))
    );
    let xml = second["xml"].as_str().unwrap();
    assert!(xml.contains("<a:buChar char=\"•\"/>"), "disc bullets");
    assert!(
        xml.contains("<a:buAutoNum type=\"arabicPeriod\" startAt=\"1\"/>"),
        "numbered list"
    );
    let heading = shape_with_text(second, "Highlights");
    assert!(
        near(&heading["x"], 30.0, 0.5) && near(&heading["y"], 30.0, 0.5),
        "the slide's padding: {heading:#}"
    );
    assert!(
        list["y"].as_f64().unwrap()
            >= heading["y"].as_f64().unwrap() + heading["h"].as_f64().unwrap() + 24.0 - 0.5,
        "mb-6 below the heading"
    );
}

#[test]
fn images_tables_and_positions_follow_the_page() {
    let inline = base64::engine::general_purpose::STANDARD.encode(png(10, 10, [0, 0, 255]));
    let html = format!(
        r#"{HEAD}
<div class="ppt-slide">
  <h2 class="text-2xl font-bold">Two columns</h2>
  <div class="grid grid-cols-2 gap-8 mt-4">
    <div class="bg-gray-100 rounded-lg p-4"><p>Left column text</p></div>
    <div><img src="img/chart.png" alt="Sales chart" class="w-full"></div>
  </div>
  <img src="data:image/png;base64,{inline}" style="position:absolute; right: 30px; bottom: 30px; width: 40px; height: 40px">
  <div class="absolute top-[100px] left-[200px] w-[300px] border-l-4 border-blue-500 pl-3">Callout</div>
</div>
<div class="ppt-slide" style="background-color: #0f172a">
  <h2 style="color: white; font-size: 28px">Numbers</h2>
  <table class="w-full mt-4">
    <thead class="bg-blue-600 text-white"><tr><th class="p-2">Region</th><th class="p-2">Q1</th><th class="p-2">Q2</th></tr></thead>
    <tbody class="text-white">
      <tr><td class="p-2">North</td><td class="p-2">10</td><td class="p-2">12</td></tr>
      <tr><td class="p-2" colspan="2">South and East</td><td class="p-2">7</td></tr>
    </tbody>
  </table>
</div>
</body></html>"#
    );
    let made = make(&html, &[("img/chart.png", png(400, 200, [200, 30, 30]))]);
    assert_eq!(made.warnings, Vec::<String>::new());
    let deck = made.deck;

    let first = &deck["slides"][0];
    let pictures: Vec<&Value> = first["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.get("image").is_some())
        .collect();
    assert_eq!(pictures.len(), 2, "{first:#}");
    let chart = pictures
        .iter()
        .find(|p| p["image"]["size"] == json!([400, 200]))
        .unwrap();
    assert_eq!(chart["image"]["type"], "image/png");
    // Content is 964 px wide; two columns with a 32 px gap are 466 px each.
    assert!(near(&chart["x"], 30.0 + 466.0 + 32.0, 1.0), "{chart:#}");
    assert!(
        near(&chart["w"], 466.0, 1.0) && near(&chart["h"], 233.0, 1.0),
        "{chart:#}"
    );
    let icon = pictures
        .iter()
        .find(|p| p["image"]["size"] == json!([10, 10]))
        .unwrap();
    assert!(
        near(&icon["x"], 1024.0 - 30.0 - 40.0, 0.5) && near(&icon["y"], 576.0 - 30.0 - 40.0, 0.5),
        "{icon:#}"
    );
    let left = shape_with_text(first, "Left column text");
    assert!(
        near(&left["x"], 30.0 + 16.0, 1.0),
        "inside the card's padding: {left:#}"
    );
    let card = first["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["fill"] == "F3F4F6")
        .expect("the grey card");
    assert!(near(&card["w"], 466.0, 1.0));
    assert!(
        near(&card["h"], chart["h"].as_f64().unwrap(), 1.0),
        "grid items stretch to the row: {card:#}"
    );
    let callout = shape_with_text(first, "Callout");
    assert!(
        near(&callout["x"], 200.0, 0.5)
            && near(&callout["y"], 100.0, 0.5)
            && near(&callout["w"], 300.0, 0.5),
        "{callout:#}"
    );
    let bar = first["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["fill"] == "3B82F6")
        .expect("the left border as a bar");
    assert!(
        near(&bar["x"], 200.0, 0.5) && near(&bar["w"], 4.0, 0.5),
        "{bar:#}"
    );

    let second = &deck["slides"][1];
    assert_eq!(second["background"], "0F172A");
    let table = second["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s.get("table").is_some())
        .expect("a table");
    assert_eq!(
        table["table"],
        json!([
            ["Region", "Q1", "Q2"],
            ["North", "10", "12"],
            ["South and East", "", "7"]
        ])
    );
    assert_eq!(
        table["table_fills"][0][0], "2563EB",
        "the header row's fill"
    );
    assert!(near(&table["w"], 964.0, 1.0), "w-full: {table:#}");
    assert!(second["xml"].as_str().unwrap().contains("gridSpan=\"2\""));
}

#[test]
fn plain_html_gets_browser_defaults() {
    let html = r#"<style>.ppt-slide { width: 1024px; height: 576px; padding: 40px; background: #fafafa; font-family: Georgia, serif }
        .accent { color: #b91c1c }</style>
        <section class="ppt-slide"><h1>Plain title</h1><p>Some <b>bold</b> and <span class="accent">red</span>.</p>
        <ul><li>one</li><li>two</li></ul></section>"#;
    let deck = make(html, &[]).deck;
    let slide = &deck["slides"][0];
    let title = shape_with_text(slide, "Plain title");
    let run = &title["paragraphs"][0]["runs"][0];
    assert_eq!(
        (run["size"].as_f64(), run["bold"].as_bool()),
        (Some(30.0), Some(true))
    );
    assert_eq!(run["font"], "Georgia", "inherited from the slide");
    assert!(
        near(&title["y"], 40.0 + 21.44, 0.5),
        "h1's default top margin: {title:#}"
    );
    let paragraph = shape_with_text(slide, "Some bold");
    let runs = &paragraph["paragraphs"][0]["runs"];
    assert_eq!(runs[1]["bold"], true);
    assert_eq!(runs[3]["color"], "B91C1C");
    let list = shape_with_text(slide, "one");
    assert!(slide["xml"]
        .as_str()
        .unwrap()
        .contains("<a:buChar char=\"•\"/>"));
    assert_eq!(list["paragraphs"].as_array().unwrap().len(), 2);
    assert_eq!(slide["background"], "FAFAFA");
}

#[test]
fn what_cannot_be_converted_is_said_and_the_rest_still_made() {
    let html = r#"<div class="ppt-slide"><h1>Charts</h1><canvas id="c"></canvas>
        <img src="missing.png" width="100" height="50"><img src="https://example.com/a.png"></div>"#;
    let made = make(html, &[]);
    let warnings = &made.warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].contains("canvas"));
    assert_eq!(
        warnings[1], "slide 1: image missing.png left out: missing.png does not exist",
        "the loader's error, with the image and the slide"
    );
    assert!(
        warnings[2].contains("save the image in the workspace"),
        "{warnings:?}"
    );
    assert_eq!(made.deck["slides"][0]["title"], "Charts");
}

#[test]
fn pages_without_slides_or_with_too_many_are_refused() {
    let none = parse("<h1>no slides here</h1>").unwrap_err();
    assert!(none.contains("class \"ppt-slide\""), "{none}");
    let many = "<div class=\"ppt-slide\">x</div>".repeat(MAX_SLIDES + 1);
    assert_eq!(
        parse(&many).unwrap_err(),
        "the HTML has 501 slides; a deck holds at most 500"
    );
    let most = "<div class=\"ppt-slide\">x</div>".repeat(MAX_SLIDES);
    assert!(parse(&most).is_ok());
}

#[test]
fn icons_row_borders_half_width_tables_and_opacity_carry_over() {
    let html = format!(
        r#"{HEAD}
<div class="ppt-slide">
  <div class="absolute top-0 right-0 w-40 h-40 bg-yellow-400 opacity-20 rounded-full"></div>
  <ul class="space-y-2"><li class="flex items-start"><i class="fas fa-check text-green-500 mr-2"></i><span>Done</span></li></ul>
  <div class="flex gap-6">
    <table class="w-1/2"><tr class="border-b border-gray-300"><td class="p-2">Cell</td></tr></table>
    <div class="flex-1"><p>Beside the table</p></div>
  </div>
</div></body></html>"#
    );
    let deck = make(&html, &[]).deck;
    let slide = &deck["slides"][0];
    let item = shape_with_text(slide, "Done");
    assert_eq!(item["paragraphs"][0]["text"], "✓ Done");
    assert_eq!(
        item["paragraphs"][0]["runs"][0]["color"], "22C55E",
        "the icon keeps its colour"
    );
    let table = slide["shapes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s.get("table").is_some())
        .unwrap();
    // 964 px of content, a 24 px gap: the table takes half the row, once.
    assert!(near(&table["w"], 482.0, 1.0), "{table:#}");
    let beside = shape_with_text(slide, "Beside the table");
    assert!(near(&beside["x"], 30.0 + 482.0 + 24.0, 1.0), "{beside:#}");
    let xml = slide["xml"].as_str().unwrap();
    assert!(
        xml.contains("<a:lnB w=\"11906\"><a:solidFill><a:srgbClr val=\"D1D5DB\"/>"),
        "the row's bottom border: {xml}"
    );
    assert!(
        xml.contains("<a:srgbClr val=\"FACC15\"><a:alpha val=\"20000\"/></a:srgbClr>"),
        "opacity-20"
    );
    assert!(xml.contains("prst=\"roundRect\""), "rounded-full");
}
