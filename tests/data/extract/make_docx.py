#!/usr/bin/env python3
"""Writes sample.docx (a small Word document exercising the DOCX extractor) and broken.docx
(the same zip cut in half). Run from this folder; the outputs are committed, so this only
needs rerunning when the test document changes. Standard library only."""
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'


def para(text, style=None, extra_ppr=""):
    ppr = ""
    if style or extra_ppr:
        ppr = "<w:pPr>%s%s</w:pPr>" % ('<w:pStyle w:val="%s"/>' % style if style else "",
                                        extra_ppr)
    return '<w:p>%s<w:r><w:t xml:space="preserve">%s</w:t></w:r></w:p>' % (ppr, text)


def cell(text):
    return "<w:tc><w:tcPr/>%s</w:tc>" % para(text)


body = "".join([
    para("Document Title Paragraph", "Title"),
    para("Introduction", "Heading1"),
    # runs split mid-word, a tab, a line break, a hyperlink, deleted and field text
    '<w:p><w:r><w:t>Frugal </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>ex</w:t></w:r>'
    '<w:r><w:t>tracts</w:t><w:tab/><w:t>text</w:t><w:br/><w:t>after break</w:t></w:r>'
    '<w:hyperlink><w:r><w:t xml:space="preserve"> with a link</w:t></w:r></w:hyperlink>'
    '<w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del>'
    '<w:r><w:instrText>HYPERLINK "x"</w:instrText></w:r></w:p>',
    para("Details", "Heading2"),
    para("Deep heading", "Heading9"),
    para("First bullet", "ListParagraph",
         '<w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr>'),
    para("Nested bullet", "ListParagraph",
         '<w:numPr><w:ilvl w:val="1"/><w:numId w:val="1"/></w:numPr>'),
    para("A wise quote", "Quote"),
    para("Outline heading", None, '<w:outlineLvl w:val="2"/>'),
    '<w:tbl><w:tblPr/>'
    '<w:tr>%s%s</w:tr><w:tr>%s%s</w:tr><w:tr>%s%s</w:tr></w:tbl>'
    % (cell("Name"), cell("Score"), cell("alpha"), cell("1"), cell(""), cell("")),
    '<w:sdt><w:sdtContent>%s</w:sdtContent></w:sdt>' % para("Inside a content control"),
    '<w:p><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:t>Choice text</w:t>'
    '</mc:Choice><mc:Fallback><w:t>Fallback text</w:t></mc:Fallback></mc:AlternateContent>'
    '</w:r></w:p>',
    para("   "),
    para("Last paragraph &amp; done."),
    '<w:sectPr/>',
])

document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<w:document %s %s><w:body>%s</w:body></w:document>' % (W, MC, body))

core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:title> Sample Word Document </dc:title><dc:creator>frugal</dc:creator>'
        '</cp:coreProperties>')

content_types = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.wordprocessingml.document.main+xml"/></Types>')

rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>')


def write(path, parts):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


write("sample.docx", [("[Content_Types].xml", content_types), ("_rels/.rels", rels),
                      ("word/document.xml", document), ("docProps/core.xml", core)])
data = open("sample.docx", "rb").read()
open("broken.docx", "wb").write(data[: len(data) // 2])
# A zip without word/document.xml, and one whose document.xml declares entities.
write("nodoc.docx", [("[Content_Types].xml", content_types), ("xl/workbook.xml", "<x/>")])
laughs = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
          '<w:document %s><w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body>'
          '</w:document>' % W)
write("entities.docx", [("[Content_Types].xml", content_types),
                        ("word/document.xml", laughs)])
write("badxml.docx", [("word/document.xml", "<w:document %s><w:body><w:p>" % W)])
