// The catalogue's and the category tree's words (商品目录, 商品分类).
// Simplified Chinese first; i18n.js merges them into its one dictionary.

export const CATALOGUE_I18N = {
  zh: {
    'tab.catalogue': '商品目录', 'tab.categories': '商品分类',
    'cat.title': '商品目录', 'cat.refresh': '刷新', 'cat.edit': '新增或修改商品',
    'cat.sku': '编码', 'cat.name': '名称', 'cat.price': '价格', 'cat.member_price': '会员价',
    'cat.barcode': '主条码', 'cat.barcodes': '条码', 'cat.other_barcodes': '其他条码（空格或逗号分隔）',
    'cat.unit': '计量方式', 'cat.unit_whole': '计件', 'cat.unit_measured': '称重', 'cat.unit_label': '单位',
    'cat.multiplier': '积分倍数', 'cat.category': '分类', 'cat.no_category': '（无分类）',
    'cat.active': '在售', 'cat.inactive': '停售', 'cat.stocked': '管理库存', 'cat.status': '状态',
    'cat.store_prices': '门店价（每行：门店=价格）', 'cat.attributes': '属性（每行：属性=值）',
    'cat.save': '保存', 'cat.edit_one': '修改', 'cat.saved': '已保存 {sku}',
    'cat.bad_line': '无法识别的一行：{line}（应为 名称=值）',
    'cats.title': '商品分类', 'cats.none': '暂无分类。', 'cats.edit': '新增、改名或移动分类',
    'cats.id': '分类编号', 'cats.name': '名称', 'cats.parent': '上级分类', 'cats.root': '（顶级分类）',
    'cats.attributes': '属性（逗号分隔，子分类继承）', 'cats.inherits': '可用属性：{list}',
    'cats.saved': '已保存分类 {id}',
  },
  en: {
    'tab.catalogue': 'Catalogue', 'tab.categories': 'Categories',
    'cat.title': 'Catalogue', 'cat.refresh': 'Refresh', 'cat.edit': 'Add or change a product',
    'cat.sku': 'SKU', 'cat.name': 'Name', 'cat.price': 'Price', 'cat.member_price': 'Member price',
    'cat.barcode': 'Primary barcode', 'cat.barcodes': 'Barcodes', 'cat.other_barcodes': 'Other barcodes (space or comma separated)',
    'cat.unit': 'Unit', 'cat.unit_whole': 'Pieces', 'cat.unit_measured': 'Measured', 'cat.unit_label': 'Unit label',
    'cat.multiplier': 'Points multiplier', 'cat.category': 'Category', 'cat.no_category': '(no category)',
    'cat.active': 'For sale', 'cat.inactive': 'Inactive', 'cat.stocked': 'Stock kept', 'cat.status': 'Status',
    'cat.store_prices': 'Store prices (one per line: store=price)', 'cat.attributes': 'Attributes (one per line: name=value)',
    'cat.save': 'Save', 'cat.edit_one': 'Edit', 'cat.saved': 'Saved {sku}',
    'cat.bad_line': 'A line not understood: {line} (name=value expected)',
    'cats.title': 'Categories', 'cats.none': 'No categories yet.', 'cats.edit': 'Add, rename or move a category',
    'cats.id': 'Category id', 'cats.name': 'Name', 'cats.parent': 'Parent', 'cats.root': '(top level)',
    'cats.attributes': 'Attributes (comma separated, inherited)', 'cats.inherits': 'Attributes: {list}',
    'cats.saved': 'Saved category {id}',
  },
};
