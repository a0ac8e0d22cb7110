// tongka 通卡 — store console. Plain JS, no framework, no build step, no
// network but this node's API. Money is never float: amounts are the API's
// decimal strings. The checkout's figures (line amounts, discount, points
// deducted, payable) come from the node's quote (POST /checkouts/quote), by
// the very calculator the sale uses: nothing is rounded here. The little
// arithmetic left (the recharge preview's sums) is done in integer fen.
'use strict';
(function () {

// ---------------------------------------------------------------------------
// Dictionary: every UI string, Simplified Chinese first.
// ---------------------------------------------------------------------------
const I18N = {
  zh: {
    'app.title': '通卡 门店控制台',
    'tab.members': '会员', 'tab.checkout': '收银', 'tab.orders': '订单', 'tab.overview': '概览',
    'tab.duplicates': '重复会员', 'tab.programme': '会员方案',
    'auth.title': '登录门店控制台',
    'auth.hint': '请输入本门店节点的管理令牌（启动 tongka 时打印，也保存在数据目录的 admin.token 文件中）。',
    'auth.token': '令牌', 'auth.submit': '登录', 'auth.logout': '退出',
    'auth.invalid': '令牌无效或已过期，请重新登录。',
    'auth.required': '请输入令牌。',
    'auth.logged_out': '已退出登录。',
    'common.search': '查找', 'common.refresh': '刷新', 'common.cancel': '取消', 'common.save': '保存',
    'common.close': '关闭', 'common.none': '–',
    'common.show': '显示', 'common.hide': '隐藏', 'common.print': '打印小票', 'common.remove': '删除',
    'members.search': '查找会员', 'members.by_phone': '手机号', 'members.by_card': '卡号',
    'members.search_ph': '手机号或卡号', 'members.no_results': '没有找到会员。',
    'members.query_required': '请输入手机号或卡号。',
    'members.none_open': '查找或登记会员后在此显示会员详情。',
    'members.edit': '编辑资料', 'members.to_checkout': '为该会员收银',
    'register.title': '登记新会员', 'register.submit': '登记', 'register.done': '已登记会员 {name}',
    'field.phone': '手机号', 'field.name': '姓名', 'field.birthday': '生日', 'field.gender': '性别',
    'field.card_no': '卡号', 'field.tags': '标签', 'field.notes': '备注',
    'gender.none': '未填', 'gender.female': '女', 'gender.male': '男', 'gender.other': '其他',
    'member.home_store': '开卡门店', 'member.created_at': '登记时间', 'member.visits': '到店次数',
    'member.cumulative_principal': '累计充值本金', 'member.cumulative_spent': '累计消费',
    'member.id': '会员编号',
    'wallet.balance': '余额', 'wallet.principal': '本金', 'wallet.bonus': '赠送金',
    'wallet.available_here': '本店可用', 'wallet.points': '积分',
    'wallet.available_hint': '其余余额由其他门店持有，需联网调拨后方可在本店使用。',
    'edit.title': '编辑资料', 'edit.tags_ph': '用逗号分隔', 'edit.done': '资料已保存',
    'edit.nothing': '没有修改。',
    'recharge.title': '充值', 'recharge.amount': '充值金额', 'recharge.tender': '支付方式',
    'recharge.submit': '确认充值', 'recharge.offers': '充值优惠：',
    'recharge.offer': '充 {threshold} 送 {bonus}',
    'recharge.preview': '本次充值 {amount}，赠送 {bonus}，到账 {total}',
    'recharge.preview_level': '，累计本金 {cum} 后等级为 {level}（{rate}）',
    'recharge.done': '充值成功：本金 {principal}，赠送 {bonus}；当前余额 {balance}',
    'recharge.invalid': '请输入正确的充值金额（大于 0，最多两位小数）。',
    'tender.balance': '余额', 'tender.cash': '现金', 'tender.card': '银行卡',
    'tender.wechat': '微信支付', 'tender.alipay': '支付宝',
    'history.title': '余额与积分明细', 'history.at': '时间', 'history.kind': '类型', 'history.store': '门店',
    'history.amount': '金额', 'history.ref': '单号', 'history.empty': '暂无记录。',
    'kind.registered': '登记', 'kind.recharged': '充值', 'kind.checked_out': '消费',
    'kind.refunded': '退款', 'kind.profile_updated': '资料修改', 'kind.shares_transferred': '额度调拨',
    'checkout.member': '会员', 'checkout.member_ph': '手机号或卡号（可不填，散客）',
    'checkout.walk_in': '散客（非会员）', 'checkout.clear_member': '取消会员',
    'checkout.lines': '商品', 'checkout.add_line': '＋ 添加一行', 'checkout.code': '条码 / SKU',
    'checkout.desc': '商品描述', 'checkout.unit_price': '单价', 'checkout.qty': '数量',
    'checkout.line_amount': '金额',
    'checkout.scan_hint': '扫码枪扫描条码后按回车即加入一行；无条码商品可填写描述与单价。',
    'checkout.tenders': '支付', 'checkout.add_tender': '＋ 添加支付方式',
    'checkout.tender_amount_ph': '留空 = 支付余下部分',
    'checkout.tender_hint': '可有一种支付方式不填金额，由它支付余下部分；现金可多付并找零。',
    'checkout.subtotal': '折前合计', 'checkout.clear': '清空', 'checkout.submit': '结账',
    'checkout.discount': '会员优惠', 'checkout.payable': '应付', 'checkout.earns': '得积分',
    'checkout.no_receipt': '结账后在此显示小票。',
    'checkout.no_lines': '请至少添加一行商品（条码/SKU，或描述加单价）。',
    'checkout.bad_line': '第 {n} 行：请填写条码/SKU，或商品描述与单价。',
    'checkout.bad_price': '第 {n} 行：单价格式不正确。',
    'checkout.bad_qty': '第 {n} 行：数量须大于 0，最多 3 位小数。',
    'checkout.bad_tender': '支付金额格式不正确。',
    'checkout.no_tender': '请至少选择一种支付方式。',
    'checkout.two_empty': '最多只能有一种支付方式不填金额。',
    'checkout.points': '积分抵现', 'checkout.points_ph': '使用积分数',
    'checkout.points_value': '抵扣 {value}', 'checkout.points_rule': '{rate} 积分抵 1 元，最多抵应付的 {cap}；会员积分 {held}',
    'checkout.bad_points': '积分须为不小于 0 的整数。',
    'receipt.points_used': '积分抵现', 'receipt.points_count': '使用积分', 'receipt.points_returned': '退回积分',
    'prog.deduction': '积分抵现', 'prog.deduction_on': '允许结账时用积分抵扣',
    'prog.deduction_rate': '多少积分抵 1 元', 'prog.deduction_cap': '最多抵扣应付的比例（0–1）',
    'prog.deduction_min': '单笔最少使用积分',
    'checkout.done': '结账成功，应付 {payable}',
    'receipt.title': '购物小票', 'receipt.order': '单号', 'receipt.store': '门店', 'receipt.time': '时间',
    'receipt.member': '会员', 'receipt.level': '等级折扣', 'receipt.item': '商品',
    'receipt.qty_price': '数量×单价', 'receipt.amount': '金额', 'receipt.discount': '折扣',
    'receipt.payable': '应付', 'receipt.total': '商品合计', 'receipt.paid': '实收',
    'receipt.change': '找零', 'receipt.balance_principal': '余额支付·本金',
    'receipt.balance_bonus': '余额支付·赠送金', 'receipt.points_earned': '本单积分',
    'receipt.refunded': '已退款', 'receipt.status': '状态',
    'receipt.rounding': '会员折扣按行计算，四舍五入到分。',
    'receipt.to_order': '退款 / 查看订单', 'receipt.text': '热敏小票',
    'rate.none': '无折扣', 'rate.zh': '{z}折',
    'status.paid': '已支付', 'status.partially_refunded': '部分退款', 'status.refunded': '已全额退款',
    'orders.open': '查找订单', 'orders.id_ph': '订单号，如 o-store-1-3', 'orders.open_btn': '打开',
    'orders.id_required': '请输入订单号。',
    'orders.refund_qty': '退货数量', 'orders.refunded_qty': '已退',
    'refund.title': '退款 / 退货', 'refund.reason': '退款原因', 'refund.all': '整单退款',
    'refund.lines': '按所填数量退款', 'refund.none': '退款结果将在此显示。',
    'refund.no_lines': '请在要退的行填写退货数量。',
    'refund.confirm_all': '再点一次确认整单退款',
    'refund.done': '退款成功：{amount}',
    'refund.result': '退款结果', 'refund.id': '退款单号', 'refund.amount': '退款金额',
    'refund.tenders': '退回方式', 'refund.points_reversed': '扣回积分',
    'dup.title': '重复会员与合并',
    'dup.hint': '同一手机号或卡号登记了两次（例如门店断网期间在两家门店分别登记）。选择保留的会员，另一位的余额、积分和明细并入其中；其他门店持有的余额份额在联网后自动转入。合并不可撤销。',
    'dup.none': '没有重复登记的会员。',
    'dup.kind_phone': '手机号 {value} 重复登记', 'dup.kind_card': '卡号 {value} 重复登记',
    'dup.keep': '保留此会员',
    'dup.merge': '合并到所选会员',
    'dup.pick_first': '请先选择要保留的会员。',
    'dup.confirm': '确认将 {absorbed} 合并到 {survivor}（{sid}）？被合并会员的余额、积分和明细将并入保留的会员，之后不能再单独使用。此操作不可撤销。',
    'dup.confirm_btn': '确认合并',
    'dup.done': '合并完成：{names} 已并入 {survivor}',
    'dup.result': '合并完成：{names} 已并入 {survivor}（{sid}）。当前余额 {balance}，积分 {points}。',
    'dup.result_later': '其他门店持有的余额份额会在联网后转入，余额随之更新。',
    'dup.open_member': '查看会员',
    'prog.title': '会员方案',
    'prog.readonly': '会员方案由总部统一制定并同步到各门店，本店只能查看。如需修改，请在总部节点的控制台操作。',
    'prog.hint': '修改后保存，之后的充值与结账即按新方案计算；已完成的交易不受影响。',
    'prog.offers': '充值优惠', 'prog.levels': '会员等级', 'prog.points': '积分',
    'prog.offers_hint': '单次充值达到门槛即赠送对应金额（取最高一档）；门槛须严格递增，赠送金额须小于门槛。',
    'prog.levels_hint': '按累计充值本金定级；第一级门槛为 0，门槛严格递增；折扣率大于 0 且不大于 1（0.95 即 9.5 折）。',
    'prog.threshold': '充值门槛', 'prog.bonus': '赠送金额', 'prog.code': '代码', 'prog.name_zh': '中文名称',
    'prog.name_en': '英文名称', 'prog.min_principal': '累计充值门槛', 'prog.rate': '折扣率',
    'prog.points_per_yuan': '每消费 1 元获得积分',
    'prog.add_offer': '＋ 添加优惠', 'prog.add_level': '＋ 添加等级', 'prog.reset': '撤销修改',
    'prog.saved': '会员方案已保存',
    'overview.title': '节点概览', 'overview.node': '节点', 'overview.ledger': '账本汇总（本节点所知全链）',
    'overview.sync': '同步状态', 'overview.role': '角色', 'overview.version': '版本',
    'overview.peers': '对等节点', 'overview.connected': '已连接', 'overview.disconnected': '未连接',
    'overview.lag': '待同步操作', 'overview.vv': '版本向量', 'overview.hash': '状态哈希',
    'overview.no_peers': '没有对等节点（单店模式）。', 'overview.unavailable': '无法获取',
    'ledger.members': '会员数', 'ledger.recharged_principal': '充值本金', 'ledger.recharged_bonus': '充值赠送金',
    'ledger.spent_principal': '消费本金', 'ledger.spent_bonus': '消费赠送金',
    'ledger.refunded_principal': '退回本金', 'ledger.refunded_bonus': '退回赠送金',
    'ledger.outstanding_principal': '储值余额·本金', 'ledger.outstanding_bonus': '储值余额·赠送金',
    'ledger.orders': '订单数', 'ledger.sales': '销售额', 'ledger.refunds': '退款笔数', 'ledger.refunded': '退款额',
    'ledger.recharges': '充值笔数',
    'ledger.points_issued': '发放积分', 'ledger.points_reversed': '扣回积分',
    'detail.available_here': '本店可用', 'detail.wanted': '需要', 'detail.tendered': '支付合计',
    'detail.payable': '应付', 'detail.line': '行', 'detail.remaining': '未退数量', 'detail.owner': '下单门店',
    'err.network_error': '网络错误，未能确认结果。可直接再次提交，不会重复扣款。',
    'err.http': '服务器返回错误（HTTP {status}）',
    'err.bad_response': '服务器返回的内容无法识别。',
  },
  en: {
    'app.title': 'Tongka store console',
    'tab.members': 'Members', 'tab.checkout': 'Checkout', 'tab.orders': 'Orders', 'tab.overview': 'Overview',
    'tab.duplicates': 'Duplicates', 'tab.programme': 'Programme',
    'auth.title': 'Sign in to the store console',
    'auth.hint': "Enter this store node's admin token (printed when tongka starts, and saved in admin.token in its data directory).",
    'auth.token': 'Token', 'auth.submit': 'Sign in', 'auth.logout': 'Sign out',
    'auth.invalid': 'The token is invalid or has expired. Please sign in again.',
    'auth.required': 'Please enter the token.',
    'auth.logged_out': 'Signed out.',
    'common.search': 'Search', 'common.refresh': 'Refresh', 'common.cancel': 'Cancel', 'common.save': 'Save',
    'common.close': 'Close', 'common.none': '–',
    'common.show': 'show', 'common.hide': 'hide', 'common.print': 'Print receipt', 'common.remove': 'Remove',
    'members.search': 'Find a member', 'members.by_phone': 'Phone', 'members.by_card': 'Card no.',
    'members.search_ph': 'Phone or card number', 'members.no_results': 'No member found.',
    'members.query_required': 'Enter a phone or card number.',
    'members.none_open': 'Find or register a member to see their details here.',
    'members.edit': 'Edit profile', 'members.to_checkout': 'Check out for this member',
    'register.title': 'Register a member', 'register.submit': 'Register', 'register.done': 'Registered {name}',
    'field.phone': 'Phone', 'field.name': 'Name', 'field.birthday': 'Birthday', 'field.gender': 'Gender',
    'field.card_no': 'Card no.', 'field.tags': 'Tags', 'field.notes': 'Notes',
    'gender.none': 'Not given', 'gender.female': 'Female', 'gender.male': 'Male', 'gender.other': 'Other',
    'member.home_store': 'Home store', 'member.created_at': 'Registered', 'member.visits': 'Visits',
    'member.cumulative_principal': 'Principal recharged', 'member.cumulative_spent': 'Spent',
    'member.id': 'Member ID',
    'wallet.balance': 'Balance', 'wallet.principal': 'Principal', 'wallet.bonus': 'Bonus',
    'wallet.available_here': 'Usable here', 'wallet.points': 'Points',
    'wallet.available_hint': 'The rest of the balance is held by other stores and moves here when they can be reached.',
    'edit.title': 'Edit profile', 'edit.tags_ph': 'comma separated', 'edit.done': 'Profile saved',
    'edit.nothing': 'Nothing changed.',
    'recharge.title': 'Recharge', 'recharge.amount': 'Amount', 'recharge.tender': 'Paid by',
    'recharge.submit': 'Recharge', 'recharge.offers': 'Offers: ',
    'recharge.offer': '{threshold} gets {bonus} bonus',
    'recharge.preview': 'Recharging {amount}, bonus {bonus}, credited {total}',
    'recharge.preview_level': '; with {cum} principal recharged the level becomes {level} ({rate})',
    'recharge.done': 'Recharged: principal {principal}, bonus {bonus}; balance now {balance}',
    'recharge.invalid': 'Enter a valid amount (more than 0, at most two decimals).',
    'tender.balance': 'Balance', 'tender.cash': 'Cash', 'tender.card': 'Bank card',
    'tender.wechat': 'WeChat Pay', 'tender.alipay': 'Alipay',
    'history.title': 'Balance and points history', 'history.at': 'Time', 'history.kind': 'Kind', 'history.store': 'Store',
    'history.amount': 'Amount', 'history.ref': 'Ref.', 'history.empty': 'No entries yet.',
    'kind.registered': 'Registered', 'kind.recharged': 'Recharge', 'kind.checked_out': 'Purchase',
    'kind.refunded': 'Refund', 'kind.profile_updated': 'Profile change', 'kind.shares_transferred': 'Shares moved',
    'checkout.member': 'Member', 'checkout.member_ph': 'Phone or card number (optional: walk-in)',
    'checkout.walk_in': 'Walk-in customer (no member)', 'checkout.clear_member': 'Remove member',
    'checkout.lines': 'Items', 'checkout.add_line': '+ Add line', 'checkout.code': 'Barcode / SKU',
    'checkout.desc': 'Description', 'checkout.unit_price': 'Unit price', 'checkout.qty': 'Qty',
    'checkout.line_amount': 'Amount',
    'checkout.scan_hint': 'Scan a barcode and press Enter to add a line; for items without a barcode type a description and unit price.',
    'checkout.tenders': 'Payment', 'checkout.add_tender': '+ Add tender',
    'checkout.tender_amount_ph': 'empty = pays the rest',
    'checkout.tender_hint': 'One tender may be left empty: it pays the rest. Only cash may be over-tendered (change is given).',
    'checkout.subtotal': 'Before discount', 'checkout.clear': 'Clear', 'checkout.submit': 'Charge',
    'checkout.discount': 'Member discount', 'checkout.payable': 'Payable', 'checkout.earns': 'Earns points',
    'checkout.no_receipt': 'The receipt appears here after checkout.',
    'checkout.no_lines': 'Add at least one line (barcode/SKU, or description and unit price).',
    'checkout.bad_line': 'Line {n}: enter a barcode/SKU, or a description and a unit price.',
    'checkout.bad_price': 'Line {n}: the unit price is not a valid amount.',
    'checkout.bad_qty': 'Line {n}: quantity must be more than 0 with at most 3 decimals.',
    'checkout.bad_tender': 'A tender amount is not a valid amount.',
    'checkout.no_tender': 'Choose at least one tender.',
    'checkout.two_empty': 'At most one tender may be left without an amount.',
    'checkout.points': 'Pay with points', 'checkout.points_ph': 'points to use',
    'checkout.points_value': 'deducts {value}', 'checkout.points_rule': '{rate} points = 1.00, at most {cap} of the payable; the member has {held} points',
    'checkout.bad_points': 'Points must be a whole number, 0 or more.',
    'receipt.points_used': 'Paid with points', 'receipt.points_count': 'Points used', 'receipt.points_returned': 'Points given back',
    'prog.deduction': 'Pay with points', 'prog.deduction_on': 'Members may pay part of a sale with points',
    'prog.deduction_rate': 'Points per 1.00', 'prog.deduction_cap': 'At most this part of the payable (0–1)',
    'prog.deduction_min': 'Fewest points per sale',
    'checkout.done': 'Paid: {payable}',
    'receipt.title': 'Receipt', 'receipt.order': 'Order', 'receipt.store': 'Store', 'receipt.time': 'Time',
    'receipt.member': 'Member', 'receipt.level': 'Level discount', 'receipt.item': 'Item',
    'receipt.qty_price': 'Qty × price', 'receipt.amount': 'Amount', 'receipt.discount': 'Discount',
    'receipt.payable': 'Payable', 'receipt.total': 'Total', 'receipt.paid': 'Paid',
    'receipt.change': 'Change', 'receipt.balance_principal': 'Balance: principal',
    'receipt.balance_bonus': 'Balance: bonus', 'receipt.points_earned': 'Points earned',
    'receipt.refunded': 'Refunded', 'receipt.status': 'Status',
    'receipt.rounding': 'Member discount applied per line, rounded half-up to the fen.',
    'receipt.to_order': 'Refund / open order', 'receipt.text': 'Thermal receipt',
    'rate.none': 'no discount', 'rate.zh': '{p}% off',
    'status.paid': 'Paid', 'status.partially_refunded': 'Partially refunded', 'status.refunded': 'Refunded',
    'orders.open': 'Find an order', 'orders.id_ph': 'Order ID, e.g. o-store-1-3', 'orders.open_btn': 'Open',
    'orders.id_required': 'Enter an order ID.',
    'orders.refund_qty': 'Refund qty', 'orders.refunded_qty': 'Refunded',
    'refund.title': 'Refund / return', 'refund.reason': 'Reason', 'refund.all': 'Refund whole order',
    'refund.lines': 'Refund the quantities entered', 'refund.none': 'The refund appears here.',
    'refund.no_lines': 'Enter a refund quantity on the lines to refund.',
    'refund.confirm_all': 'Click again to refund all',
    'refund.done': 'Refunded {amount}',
    'refund.result': 'Refund', 'refund.id': 'Refund ID', 'refund.amount': 'Amount refunded',
    'refund.tenders': 'Returned to', 'refund.points_reversed': 'Points reversed',
    'dup.title': 'Duplicate members and merging',
    'dup.hint': 'The same phone or card number registered twice (e.g. at two stores while they could not reach each other). Pick the member to keep: the other one\'s balance, points and history go into it; shares of the balance held by other stores move when those stores are reached. A merge cannot be undone.',
    'dup.none': 'No duplicate registrations.',
    'dup.kind_phone': 'Phone {value} registered twice', 'dup.kind_card': 'Card {value} registered twice',
    'dup.keep': 'Keep this member',
    'dup.merge': 'Merge into the member kept',
    'dup.pick_first': 'First pick the member to keep.',
    'dup.confirm': 'Merge {absorbed} into {survivor} ({sid})? The balance, points and history of the member merged go to the member kept, and it cannot be used on its own any more. This cannot be undone.',
    'dup.confirm_btn': 'Merge',
    'dup.done': 'Merged: {names} into {survivor}',
    'dup.result': 'Merged: {names} into {survivor} ({sid}). Balance now {balance}, points {points}.',
    'dup.result_later': 'Shares of the balance held by other stores move here when they are reached; the balance grows then.',
    'dup.open_member': 'Open member',
    'prog.title': 'Membership programme',
    'prog.readonly': 'HQ authors the programme for the whole chain and it reaches every store by replication: this store can only view it. To change it, use the console of the HQ node.',
    'prog.hint': 'Once saved, recharges and sales from then on use the new programme; past ones are not changed.',
    'prog.offers': 'Recharge offers', 'prog.levels': 'Levels', 'prog.points': 'Points',
    'prog.offers_hint': 'A recharge reaching a threshold gets its bonus (the highest offer reached). Thresholds rise strictly; a bonus is below its threshold.',
    'prog.levels_hint': 'Levels go by cumulative principal recharged: the first starts at 0 and thresholds rise strictly; a rate is above 0 and at most 1 (0.95 = 5% off).',
    'prog.threshold': 'Threshold', 'prog.bonus': 'Bonus', 'prog.code': 'Code', 'prog.name_zh': 'Chinese name',
    'prog.name_en': 'English name', 'prog.min_principal': 'From principal', 'prog.rate': 'Rate',
    'prog.points_per_yuan': 'Points per yuan spent',
    'prog.add_offer': '+ Add offer', 'prog.add_level': '+ Add level', 'prog.reset': 'Undo changes',
    'prog.saved': 'Programme saved',
    'overview.title': 'Node overview', 'overview.node': 'Node', 'overview.ledger': 'Ledger (chain-wide, as this node knows it)',
    'overview.sync': 'Replication', 'overview.role': 'Role', 'overview.version': 'Version',
    'overview.peers': 'Peers', 'overview.connected': 'connected', 'overview.disconnected': 'disconnected',
    'overview.lag': 'Ops behind', 'overview.vv': 'Version vector', 'overview.hash': 'State hash',
    'overview.no_peers': 'No peers (single store).', 'overview.unavailable': 'unavailable',
    'ledger.members': 'Members', 'ledger.recharged_principal': 'Principal recharged', 'ledger.recharged_bonus': 'Bonus granted',
    'ledger.spent_principal': 'Principal spent', 'ledger.spent_bonus': 'Bonus spent',
    'ledger.refunded_principal': 'Principal refunded', 'ledger.refunded_bonus': 'Bonus refunded',
    'ledger.outstanding_principal': 'Outstanding principal', 'ledger.outstanding_bonus': 'Outstanding bonus',
    'ledger.orders': 'Orders', 'ledger.sales': 'Sales', 'ledger.refunds': 'Refunds', 'ledger.refunded': 'Refunded',
    'ledger.recharges': 'Recharges',
    'ledger.points_issued': 'Points issued', 'ledger.points_reversed': 'Points reversed',
    'detail.available_here': 'usable here', 'detail.wanted': 'wanted', 'detail.tendered': 'tendered',
    'detail.payable': 'payable', 'detail.line': 'line', 'detail.remaining': 'remaining', 'detail.owner': 'owner store',
    'err.network_error': 'Network error: the result is unknown. Submitting again is safe, it will not charge twice.',
    'err.http': 'The server answered with an error (HTTP {status})',
    'err.bad_response': 'The server answered something unexpected.',
  },
};

const LS_TOKEN = 'tongka.console.token';
const LS_LANG = 'tongka.console.lang';
const TENDERS = ['balance', 'cash', 'card', 'wechat', 'alipay'];
const LEDGER_ORDER = ['members', 'recharges', 'recharged_principal', 'recharged_bonus', 'orders', 'sales',
  'spent_principal', 'spent_bonus', 'refunds', 'refunded', 'refunded_principal', 'refunded_bonus',
  'outstanding_principal', 'outstanding_bonus', 'points_issued', 'points_reversed'];

const state = {
  lang: 'zh',
  token: null,
  tab: 'members',
  health: null,
  programme: null,
  products: null,          // [{sku, barcode, name, price}] once loaded
  lastError: null,
  loginMessage: null,      // dictionary key
  results: { members: null, checkout: null },
  member: null,
  history: null,
  phoneShown: false,
  rechargeResult: null,
  coMember: null,
  receipt: null,
  order: null,
  refundResult: null,
  overview: null,
  duplicates: null,        // [{kind, value, members}] once loaded
  mergePick: {},           // duplicate group → the member kept
  mergeConfirm: null,      // the group whose merge awaits confirmation
  mergeResult: null,
  progEditable: false,
  progLocked: false,       // the API said programme_hq_only
  progDirty: false,
  progError: null,
  progSentRows: null,
};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------
const $ = (sel, root) => (root || document).querySelector(sel);
const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

function t(key, vars) {
  const dict = I18N[state.lang] || I18N.zh;
  let s = dict[key];
  if (s === undefined) s = I18N.zh[key];
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] === undefined ? m : String(vars[k])));
  return s;
}

function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value') el.value = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

function uuid() {
  if (window.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Not a secure context (plain http on a LAN address): build a v4 UUID.
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- money, in integer fen (BigInt) -----------------------------------------
const MONEY_RE = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** "95.00" → 9500n; null when not an amount. */
function toFen(s) {
  if (s === null || s === undefined) return null;
  const m = MONEY_RE.exec(String(s).trim());
  if (!m) return null;
  const fen = BigInt(m[2]) * 100n + BigInt((m[3] || '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}

/** 9500n → "95.00" */
function fenStr(fen) {
  const neg = fen < 0n;
  const a = neg ? -fen : fen;
  return `${neg ? '-' : ''}${a / 100n}.${String(a % 100n).padStart(2, '0')}`;
}

/** An API money string → "¥95.00" (the string itself, only normalised). */
function money(s) {
  if (s === null || s === undefined || s === '') return t('common.none');
  const fen = toFen(s);
  if (fen === null) return `¥${s}`;
  return fen < 0n ? `-¥${fenStr(-fen)}` : `¥${fenStr(fen)}`;
}

/** What a cashier typed → "1000.00", or null. Accepts "¥1,000", "1000.5". */
function parseAmountInput(raw) {
  const s = String(raw || '').replace(/[¥￥,，\s]/g, '');
  if (!/^\d+(\.\d{1,2})?$/.test(s)) return null;
  return fenStr(toFen(s));
}

/** Quantity typed → normalised string, or null. At most 3 decimals. */
function parseQty(raw) {
  const s = String(raw || '').trim();
  if (!/^\d+(\.\d{1,3})?$/.test(s)) return null;
  if (/^0+(\.0*)?$/.test(s)) return null;
  return s.replace(/^0+(?=\d)/, '');
}

/** "0.95" → {zh: "9.5折", en: "5% off"}; rates are ≤ 1 with ≤ 4 decimals. */
/** "0.5" → "50%", "0.125" → "12.5%" (exact, from the decimal text). */
function capText(cap) {
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(String(cap));
  if (!m) return String(cap);
  const r = BigInt(m[1]) * 10000n + BigInt((m[2] || '').padEnd(4, '0')); // per ten thousand
  const frac = String(r % 100n).padStart(2, '0').replace(/0+$/, '');
  return `${r / 100n}${frac ? `.${frac}` : ''}%`;
}

function rateText(rate) {
  if (rate === null || rate === undefined) return '';
  const m = /^(\d+)(?:\.(\d{1,4}))?$/.exec(String(rate));
  if (!m) return String(rate);
  const r = BigInt(m[1]) * 10000n + BigInt((m[2] || '').padEnd(4, '0')); // per ten thousand
  if (r >= 10000n) return t('rate.none');
  if (state.lang === 'zh') {
    const whole = r / 1000n;
    const frac = String(r % 1000n).padStart(3, '0').replace(/0+$/, '');
    return t('rate.zh', { z: frac ? `${whole}.${frac}` : `${whole}` });
  }
  const off = 10000n - r; // hundredths of a percent
  const frac = String(off % 100n).padStart(2, '0').replace(/0+$/, '');
  return t('rate.zh', { p: frac ? `${off / 100n}.${frac}` : `${off / 100n}` });
}

function maskPhone(m) {
  if (m.phone_masked) return m.phone_masked;
  const p = String(m.phone || '');
  return p.length >= 7 ? `${p.slice(0, 3)}****${p.slice(-4)}` : p;
}

function levelName(level) {
  if (!level) return t('common.none');
  if (typeof level === 'string') {
    const l = state.programme && (state.programme.levels || []).find((x) => x.code === level);
    return l ? levelName(l) : level;
  }
  return state.lang === 'zh' ? (level.name_zh || level.name_en || level.code)
    : (level.name_en || level.name_zh || level.code);
}

function fmtTime(iso) {
  if (!iso) return t('common.none');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function tenderName(kind) { return I18N.zh[`tender.${kind}`] ? t(`tender.${kind}`) : kind; }
function genderName(g) { return g ? t(`gender.${g}`) : t('gender.none'); }
function statusName(s) { return I18N.zh[`status.${s}`] ? t(`status.${s}`) : (s || t('common.none')); }

let toastTimer = null;
function toast(msg) {
  const el = $('#toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

// ---------------------------------------------------------------------------
// API access
// ---------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, err) {
    super(err.message || err.code);
    this.status = status;
    this.err = err; // {code, message, message_zh, ...details}
  }
  get code() { return this.err.code; }
  get unauthorized() { return this.status === 401; }
  /** A retry of the same submission must reuse the Idempotency-Key. */
  get uncertain() {
    return this.status === 0 || this.status >= 500 || this.status === 408 || this.status === 429
      || this.err.code === 'idempotency_key_in_progress';
  }
}

async function api(method, path, opts) {
  const o = opts || {};
  const headers = { Accept: 'application/json' };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (o.text) headers.Accept = 'text/plain';
  if (o.body !== undefined) headers['Content-Type'] = 'application/json';
  if (o.idem) headers['Idempotency-Key'] = o.idem;
  let res;
  let text;
  try {
    res = await fetch(path, {
      method, headers, cache: 'no-store', credentials: 'omit',
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    });
    text = await res.text();
  } catch (e) {
    throw new ApiError(0, { code: 'network_error' });
  }
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (e) { data = null; }
  }
  if (res.status === 401) {
    const err = new ApiError(401, (data && data.error) || { code: 'unauthorized' });
    onUnauthorized();
    throw err;
  }
  if (!res.ok) {
    const err = (data && data.error && typeof data.error === 'object') ? data.error
      : { code: `http_${res.status}`, message: text ? text.slice(0, 300) : '' };
    throw new ApiError(res.status, err);
  }
  if (o.text) return text;
  if (data === null && text) throw new ApiError(res.status, { code: 'bad_response' });
  return data;
}

// One Idempotency-Key per user action: a retry of the very same submission
// (same method, path and body) after an uncertain outcome reuses it.
const pendingKeys = new Map();
function idemKeyFor(action, sig) {
  const p = pendingKeys.get(action);
  if (p && p.sig === sig) return p.key;
  const key = uuid();
  pendingKeys.set(action, { key, sig });
  return key;
}

/** POST that moves money or uses something up. */
function postOnce(action, path, body) {
  return sendOnce(action, 'POST', path, body);
}

/** A write sent with an Idempotency-Key, reused by a retry of the same. */
async function sendOnce(action, method, path, body) {
  const sig = `${method} ${path}\n${JSON.stringify(body)}`;
  const key = idemKeyFor(action, sig);
  try {
    const r = await api(method, path, { body, idem: key });
    pendingKeys.delete(action);
    return r;
  } catch (e) {
    if (!(e instanceof ApiError) || !e.uncertain) pendingKeys.delete(action);
    throw e;
  }
}

/** Runs a user action with its button disabled; errors go to the banner. */
async function busy(btn, fn) {
  const btns = Array.isArray(btn) ? btn : [btn];
  if (btns.some((b) => b && b.dataset.busy)) return undefined;
  for (const b of btns) if (b) { b.dataset.busy = '1'; b.disabled = true; b.classList.add('busy'); }
  document.body.dataset.busy = String(Number(document.body.dataset.busy || 0) + 1);
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  } finally {
    for (const b of btns) if (b) { delete b.dataset.busy; b.disabled = false; b.classList.remove('busy'); }
    const n = Number(document.body.dataset.busy || 1) - 1;
    if (n > 0) document.body.dataset.busy = String(n); else delete document.body.dataset.busy;
  }
}

// ---------------------------------------------------------------------------
// Error banner
// ---------------------------------------------------------------------------
function showError(e) {
  if (e instanceof ApiError) {
    if (e.unauthorized) return; // the login box says it
    state.lastError = { status: e.status, ...e.err };
  } else if (e && e.local) {
    state.lastError = { code: e.code || 'invalid_input', localKey: e.localKey, vars: e.vars };
  } else {
    state.lastError = { code: 'client_error', message: String(e && e.message ? e.message : e) };
    console.error(e); // eslint-disable-line no-console
  }
  renderError();
}

function localError(key, vars, code) {
  return { local: true, localKey: key, vars, code: code || 'invalid_input' };
}

function clearError() { state.lastError = null; renderError(); }

const DETAIL_SKIP = new Set(['code', 'message', 'message_zh', 'status', 'localKey', 'vars']);
function renderError() {
  const banner = $('#error-banner');
  const e = state.lastError;
  if (!e) { banner.hidden = true; delete banner.dataset.code; return; }
  let msg;
  if (e.localKey) msg = t(e.localKey, e.vars);
  else if (e.code === 'network_error') msg = t('err.network_error');
  else if (e.code === 'bad_response') msg = t('err.bad_response');
  else if (state.lang === 'zh') msg = e.message_zh || e.message || t('err.http', { status: e.status });
  else msg = e.message || e.message_zh || t('err.http', { status: e.status });
  const details = Object.entries(e)
    // Details the message already states are not repeated.
    .filter(([k, v]) => !DETAIL_SKIP.has(k) && v !== null && v !== undefined && typeof v !== 'object' && !msg.includes(String(v)))
    .map(([k, v]) => {
      const label = I18N.zh[`detail.${k}`] ? t(`detail.${k}`) : k;
      const val = (typeof v === 'string' && MONEY_RE.test(v) && /amount|balance|here|wanted|tendered|payable|principal|bonus/.test(k)) ? money(v) : String(v);
      return `${label}: ${val}`;
    });
  const [open, sep, close] = state.lang === 'zh' ? ['（', '，', '）'] : [' (', ', ', ')'];
  $('#error-message').textContent = details.length ? `${msg}${open}${details.join(sep)}${close}` : msg;
  $('#error-code').textContent = e.code || '';
  banner.dataset.code = e.code || '';
  banner.hidden = false;
}

// ---------------------------------------------------------------------------
// Language
// ---------------------------------------------------------------------------
function applyLang() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.body.dataset.lang = state.lang;
  document.title = state.lang === 'zh' ? '通卡 · 门店控制台' : 'Tongka · store console';
  for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of $$('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of $$('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  const tg = $('#lang-toggle');
  tg.textContent = state.lang === 'zh' ? 'English' : '中文';
  tg.lang = state.lang === 'zh' ? 'en' : 'zh-CN';
  tg.dataset.lang = state.lang;
  renderAll();
}

function setLang(lang) {
  state.lang = lang === 'en' ? 'en' : 'zh';
  try { localStorage.setItem(LS_LANG, state.lang); } catch (e) { /* private mode */ }
  applyLang();
}

function renderAll() {
  renderError();
  renderLoginMessage();
  renderNodeBadge();
  renderResults('members');
  renderResults('checkout');
  renderMember();
  renderRechargeOffers();
  renderRechargePreview();
  renderCheckoutMember();
  updateSubtotal();
  renderReceipt();
  renderOrder();
  renderRefundResult();
  renderDuplicates();
  renderProgrammeError();
  renderOverview();
}

// ---------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------
function takeTokenFromHash() {
  const raw = location.hash.replace(/^#/, '');
  if (!raw) return false;
  const params = new URLSearchParams(raw);
  const tok = params.get('token');
  if (!tok) return false;
  setToken(tok);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  return true;
}

function setToken(tok) {
  state.token = tok || null;
  try {
    if (tok) localStorage.setItem(LS_TOKEN, tok); else localStorage.removeItem(LS_TOKEN);
  } catch (e) { /* private mode: keep it in memory */ }
}

function onUnauthorized() {
  setToken(null);
  showLogin('auth.invalid');
}

function showLogin(msgKey) {
  state.loginMessage = msgKey || null;
  document.body.dataset.auth = 'login';
  $('#login').hidden = false;
  $('#tabs').hidden = true;
  $('#logout').hidden = true;
  for (const p of $$('.panel')) p.hidden = true;
  $('#toast').hidden = true;
  state.lastError = null;
  renderError();
  renderNodeBadge();
  renderLoginMessage();
  const inp = $('#login-token');
  inp.value = '';
  inp.focus();
}

function renderLoginMessage() {
  const el = $('#login-message');
  el.hidden = !state.loginMessage;
  el.textContent = state.loginMessage ? t(state.loginMessage) : '';
  el.classList.toggle('info', state.loginMessage === 'auth.logged_out');
}

async function start() {
  document.body.dataset.auth = 'checking';
  try {
    // An authenticated read: proves the token and gives the programme.
    state.programme = await api('GET', '/api/v1/programme');
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) return;
    state.programme = null;
    if (e instanceof ApiError && e.status === 0) showError(e);
  }
  showApp();
  api('GET', '/api/v1/health').then((hl) => { state.health = hl; renderNodeBadge(); }).catch(() => {});
}

function showApp() {
  state.loginMessage = null;
  document.body.dataset.auth = 'app';
  $('#login').hidden = true;
  $('#tabs').hidden = false;
  $('#logout').hidden = false;
  renderRechargeOffers();
  showTab(state.tab);
}

function renderNodeBadge() {
  const el = $('#node-badge');
  const hl = state.health;
  el.hidden = !hl || document.body.dataset.auth !== 'app';
  if (hl) el.textContent = `${hl.node || ''}${hl.role ? ` · ${hl.role}` : ''}`;
}

// ---------------------------------------------------------------------------
// Tabs
// ---------------------------------------------------------------------------
function showTab(name) {
  if (state.tab !== name) clearError();
  state.tab = name;
  for (const b of $$('.tab')) {
    const on = b.dataset.tab === name;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', on ? 'true' : 'false');
  }
  const changed = $$('.panel').some((p) => !p.hidden && p.dataset.panel !== name);
  for (const p of $$('.panel')) p.hidden = p.dataset.panel !== name;
  if (changed) $('main').scrollTop = 0;
  if (name === 'overview') loadOverview();
  if (name === 'duplicates') busy($('#dup-refresh'), loadDuplicates);
  if (name === 'programme' && !state.progDirty) busy($('#programme-reload'), loadProgrammeScreen);
  if (name === 'checkout') {
    loadProducts();
    const first = $('#checkout-lines tbody tr:last-child .code');
    if (first) first.focus();
  }
}

// ---------------------------------------------------------------------------
// Member lists (search results)
// ---------------------------------------------------------------------------
function renderResults(which) {
  const box = which === 'members' ? $('#member-results') : $('#checkout-member-results');
  clear(box);
  const list = state.results[which];
  if (!list) return;
  if (list.length === 0) {
    box.append(h('p', { class: 'muted', 'data-test': 'no-results', text: t('members.no_results') }));
    return;
  }
  const ul = h('ul', { class: 'member-list' });
  for (const m of list) {
    ul.append(h('li', null, h('button', {
      type: 'button', class: 'member-item', 'data-test': 'member-result', 'data-id': m.id,
      onclick: () => (which === 'members' ? openMember(m.id, m) : pickCheckoutMember(m)),
    },
    h('span', { class: 'mi-name', text: m.name }),
    h('span', { class: 'mi-phone', text: maskPhone(m) }),
    m.card_no ? h('span', { class: 'mi-card', text: m.card_no }) : null,
    h('span', { class: 'level-badge small', 'data-code': m.level && m.level.code, text: levelName(m.level) }),
    h('span', { class: 'mi-balance money', text: money(m.balance) }))));
  }
  box.append(ul);
}

async function searchMembers(by, q) {
  const r = await api('GET', `/api/v1/members?${by}=${encodeURIComponent(q)}`);
  return (r && r.members) || [];
}

function guessBy(q, sel) {
  // An 11-digit mobile number is a phone; anything else a card number.
  if (/^1[3-9]\d{9}$/.test(q)) sel.value = 'phone';
  else if (sel.value === 'phone' && !/^\d{1,11}$/.test(q)) sel.value = 'card_no';
  return sel.value;
}

// ---------------------------------------------------------------------------
// Members: detail, history
// ---------------------------------------------------------------------------
async function openMember(id, preview, keepResult) {
  clearError();
  if (!keepResult) state.rechargeResult = null;
  if (preview) { state.member = preview; state.history = null; state.phoneShown = false; renderMember(); }
  const [m, hist] = await Promise.all([
    api('GET', `/api/v1/members/${encodeURIComponent(id)}`),
    api('GET', `/api/v1/members/${encodeURIComponent(id)}/history`).catch((e) => { if (e.unauthorized) throw e; return null; }),
  ]);
  if (!state.member || state.member.id !== m.id) { state.phoneShown = false; state.rechargeResult = null; }
  state.member = m;
  state.history = hist ? (hist.entries || []) : null;
  $('#edit-form').hidden = true;
  renderMember();
  renderRechargePreview();
}

function setMoney(el, s) {
  el.textContent = money(s);
  if (s === null || s === undefined) delete el.dataset.value; else el.dataset.value = String(s);
}

function renderMember() {
  const m = state.member;
  $('#member-empty').hidden = !!m;
  $('#member-detail').hidden = !m;
  if (!m) return;
  $('#member-name').textContent = m.name;
  const lv = $('#member-level');
  lv.textContent = m.level ? `${levelName(m.level)}${m.level.rate ? ` · ${rateText(m.level.rate)}` : ''}` : t('common.none');
  lv.dataset.code = (m.level && m.level.code) || '';
  $('#member-id').textContent = `${t('member.id')} ${m.id}`;
  setMoney($('#member-balance'), m.balance);
  setMoney($('#member-principal'), m.principal);
  setMoney($('#member-bonus'), m.bonus);
  setMoney($('#member-available'), m.available_here);
  const partial = toFen(m.available_here) !== null && toFen(m.balance) !== null && toFen(m.available_here) !== toFen(m.balance);
  $('#member-available-hint').hidden = !partial;
  const pts = $('#member-points');
  pts.textContent = m.points === undefined || m.points === null ? t('common.none') : String(m.points);
  pts.dataset.value = String(m.points);
  $('#member-visits').textContent = m.visits === undefined ? t('common.none') : String(m.visits);

  const dl = clear($('#member-profile'));
  const row = (label, ...val) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', null, ...val)));
  row(t('field.phone'),
    h('span', { 'data-test': 'member-phone', text: state.phoneShown ? m.phone : maskPhone(m) }), ' ',
    m.phone ? h('button', {
      type: 'button', class: 'link-btn', 'data-test': 'member-phone-reveal',
      text: state.phoneShown ? t('common.hide') : t('common.show'),
      onclick: () => { state.phoneShown = !state.phoneShown; renderMember(); },
    }) : null);
  row(t('field.card_no'), h('span', { 'data-test': 'member-card', text: m.card_no || t('common.none') }));
  row(t('field.gender'), genderName(m.gender));
  row(t('field.birthday'), m.birthday || t('common.none'));
  row(t('member.cumulative_principal'), money(m.cumulative_principal));
  row(t('member.cumulative_spent'), money(m.cumulative_spent));
  row(t('member.home_store'), m.home_store || t('common.none'));
  row(t('member.created_at'), fmtTime(m.created_at));
  if (m.tags && m.tags.length) row(t('field.tags'), ...m.tags.map((x) => h('span', { class: 'tag', text: x })));
  if (m.notes) row(t('field.notes'), m.notes);

  renderRechargeResult();
  renderHistory();
}

function renderHistory() {
  const tb = clear($('#member-history tbody'));
  const list = state.history;
  if (!list) return;
  if (!list.length) {
    tb.append(h('tr', null, h('td', { colspan: 8, class: 'muted', text: t('history.empty') })));
    return;
  }
  for (const e of list) {
    const ref = e.ref ? (/^o-/.test(e.ref)
      ? h('button', { type: 'button', class: 'link-btn', text: e.ref, onclick: () => openOrderFromElsewhere(e.ref) })
      : e.ref) : t('common.none');
    tb.append(h('tr', { 'data-test': 'history-row', 'data-kind': e.kind },
      h('td', { class: 'nowrap', text: fmtTime(e.at) }),
      h('td', { text: I18N.zh[`kind.${e.kind}`] ? t(`kind.${e.kind}`) : e.kind }),
      h('td', { text: e.store || t('common.none') }),
      h('td', { class: 'num money', text: e.amount == null ? t('common.none') : money(e.amount) }),
      h('td', { class: 'num money', text: e.principal == null ? t('common.none') : money(e.principal) }),
      h('td', { class: 'num money', text: e.bonus == null ? t('common.none') : money(e.bonus) }),
      h('td', { class: 'num', text: e.points ? String(e.points) : t('common.none') }),
      h('td', { class: 'mono small' }, ref)));
  }
}

async function registerMember(ev) {
  ev.preventDefault();
  clearError();
  const f = ev.currentTarget;
  const body = { phone: $('#register-phone').value.trim(), name: $('#register-name').value.trim() };
  const bday = $('#register-birthday').value;
  const gender = $('#register-gender').value;
  const card = $('#register-card').value.trim();
  if (bday) body.birthday = bday;
  if (gender) body.gender = gender;
  if (card) body.card_no = card;
  await busy($('#register-submit'), async () => {
    const m = await postOnce('register', '/api/v1/members', body);
    f.reset();
    toast(t('register.done', { name: m.name }));
    state.rechargeResult = null;
    await openMember(m.id, m);
    $('#recharge-amount').focus();
  });
}

async function doSearchMembers(ev) {
  ev.preventDefault();
  clearError();
  const q = $('#member-search-q').value.trim();
  if (!q) { showError(localError('members.query_required')); return; }
  const by = guessBy(q, $('#member-search-by'));
  await busy($('#member-search-submit'), async () => {
    const list = await searchMembers(by, q);
    state.results.members = list;
    renderResults('members');
    if (list.length === 1) await openMember(list[0].id, list[0]);
  });
}

// --- edit profile ---
function openEdit() {
  const m = state.member;
  if (!m) return;
  $('#edit-phone').value = m.phone || '';
  $('#edit-name').value = m.name || '';
  $('#edit-birthday').value = m.birthday || '';
  $('#edit-gender').value = m.gender || '';
  $('#edit-card').value = m.card_no || '';
  $('#edit-tags').value = (m.tags || []).join(', ');
  $('#edit-notes').value = m.notes || '';
  $('#edit-form').hidden = false;
  $('#edit-name').focus();
}

async function saveEdit(ev) {
  ev.preventDefault();
  clearError();
  const m = state.member;
  if (!m) return;
  const patch = {};
  const phone = $('#edit-phone').value.trim();
  const name = $('#edit-name').value.trim();
  const bday = $('#edit-birthday').value || null;
  const gender = $('#edit-gender').value || null;
  const card = $('#edit-card').value.trim() || null;
  const tags = $('#edit-tags').value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean);
  const notes = $('#edit-notes').value;
  if (phone !== (m.phone || '')) patch.phone = phone;
  if (name !== (m.name || '')) patch.name = name;
  if (bday !== (m.birthday || null)) patch.birthday = bday;
  if (gender !== (m.gender || null)) patch.gender = gender;
  if (card !== (m.card_no || null)) patch.card_no = card;
  if (JSON.stringify(tags) !== JSON.stringify(m.tags || [])) patch.tags = tags;
  if (notes !== (m.notes || '')) patch.notes = notes;
  if (!Object.keys(patch).length) { $('#edit-form').hidden = true; toast(t('edit.nothing')); return; }
  await busy($('#edit-submit'), async () => {
    const updated = await api('PATCH', `/api/v1/members/${encodeURIComponent(m.id)}`, { body: patch });
    toast(t('edit.done'));
    $('#edit-form').hidden = true;
    await openMember(updated.id || m.id, updated);
  });
}

// --- recharge ---
function offerFor(fen) {
  const offers = (state.programme && state.programme.recharge_offers) || [];
  let best = null;
  for (const o of offers) {
    const th = toFen(o.threshold);
    if (th !== null && fen >= th && (!best || th > toFen(best.threshold))) best = o;
  }
  return best;
}

function levelFor(cumFen) {
  const levels = (state.programme && state.programme.levels) || [];
  let best = null;
  for (const l of levels) {
    const min = toFen(l.min_principal);
    if (min !== null && cumFen >= min && (!best || min > toFen(best.min_principal))) best = l;
  }
  return best;
}

function renderRechargeOffers() {
  const box = clear($('#recharge-offers'));
  const offers = (state.programme && state.programme.recharge_offers) || [];
  if (!offers.length) return;
  box.append(h('span', { class: 'muted', text: t('recharge.offers') }));
  for (const o of offers) {
    box.append(h('button', {
      type: 'button', class: 'chip', 'data-test': 'recharge-offer', 'data-threshold': o.threshold,
      text: t('recharge.offer', { threshold: money(o.threshold), bonus: money(o.bonus) }),
      onclick: () => { $('#recharge-amount').value = fenStr(toFen(o.threshold)); renderRechargePreview(); $('#recharge-amount').focus(); },
    }));
  }
}

function renderRechargePreview() {
  const box = clear($('#recharge-preview'));
  const amount = parseAmountInput($('#recharge-amount').value);
  if (!amount || toFen(amount) <= 0n) return;
  const fen = toFen(amount);
  const offer = offerFor(fen);
  const bonusFen = offer ? toFen(offer.bonus) : 0n;
  let text = t('recharge.preview', { amount: money(amount), bonus: money(fenStr(bonusFen)), total: money(fenStr(fen + bonusFen)) });
  const m = state.member;
  const cum = m ? toFen(m.cumulative_principal) : null;
  if (cum !== null) {
    const lv = levelFor(cum + fen);
    if (lv) text += t('recharge.preview_level', { cum: money(fenStr(cum + fen)), level: levelName(lv), rate: rateText(lv.rate) });
  }
  box.append(h('span', { 'data-test': 'recharge-bonus', 'data-value': fenStr(bonusFen), text }));
}

function renderRechargeResult() {
  const box = $('#recharge-result');
  const r = state.rechargeResult;
  box.hidden = !r || !state.member || r.member_id !== state.member.id;
  if (box.hidden) return;
  box.textContent = t('recharge.done', {
    principal: money(r.principal), bonus: money(r.bonus), balance: money(r.wallet && r.wallet.balance),
  });
}

async function recharge(ev) {
  ev.preventDefault();
  clearError();
  const m = state.member;
  if (!m) return;
  const amount = parseAmountInput($('#recharge-amount').value);
  if (!amount || toFen(amount) <= 0n) { showError(localError('recharge.invalid', null, 'invalid_amount')); return; }
  const body = { amount, tender: $('#recharge-tender').value };
  await busy($('#recharge-submit'), async () => {
    const r = await postOnce('recharge', `/api/v1/members/${encodeURIComponent(m.id)}/recharges`, body);
    state.rechargeResult = { ...r, member_id: r.member_id || m.id };
    if (state.member && state.member.id === m.id && r.wallet) {
      const w = r.wallet;
      state.member = {
        ...state.member,
        balance: w.balance, principal: w.principal, bonus: w.bonus,
        available_here: w.available_here !== undefined ? w.available_here : state.member.available_here,
        points: w.points !== undefined ? w.points : state.member.points,
        level: r.level || state.member.level,
      };
      renderMember();
    }
    $('#recharge-amount').value = '';
    renderRechargePreview();
    // The result box under the form says it; no toast over the member's name.
    await openMember(m.id, null, true);
  });
}

// ---------------------------------------------------------------------------
// Checkout
// ---------------------------------------------------------------------------
async function loadProducts() {
  if (state.products) return;
  try {
    const r = await api('GET', '/api/v1/products');
    state.products = (r && r.products) || [];
    const dl = clear($('#product-list') || document.body.appendChild(h('datalist', { id: 'product-list' })));
    for (const p of state.products) {
      dl.append(h('option', { value: p.barcode || p.sku }, `${p.name} ${money(p.price)}`));
    }
  } catch (e) {
    if (e instanceof ApiError && e.unauthorized) return;
    state.products = []; // the server still resolves codes at checkout
  }
}

function findProduct(code) {
  if (!code || !state.products) return null;
  return state.products.find((p) => p.barcode === code) || state.products.find((p) => p.sku === code) || null;
}

function lineRows() { return $$('#checkout-lines tbody tr'); }

function renumberLines() {
  lineRows().forEach((tr, i) => {
    tr.dataset.index = String(i);
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `checkout-${el.dataset.field}-${i}`);
    for (const el of $$('[data-field]', tr)) el.id = `checkout-${el.dataset.field}-${i}`;
  });
}

function addLine(prefill) {
  const p = prefill || {};
  const tr = h('tr', { class: 'line' },
    h('td', null, h('input', { type: 'text', class: 'code mono', 'data-field': 'code', list: 'product-list', inputmode: 'text', autocomplete: 'off', value: p.code || '' })),
    h('td', null, h('input', { type: 'text', class: 'desc', 'data-field': 'desc', maxlength: 80, value: p.desc || '' })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'price num', 'data-field': 'price', inputmode: 'decimal', placeholder: '0.00', value: p.price || '' })),
    h('td', { class: 'num' }, h('input', { type: 'text', class: 'qty num', 'data-field': 'qty', inputmode: 'decimal', value: p.qty || '1' })),
    h('td', { class: 'num money amount', 'data-field': 'amount' }),
    h('td', null, h('button', { type: 'button', class: 'icon-btn', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#checkout-lines tbody').append(tr);
  renumberLines();
  if (p.code) resolveLine(tr);
  updateLine(tr);
  return tr;
}

/** Fills description/price of a row from the catalogue, when the code is known. */
function resolveLine(tr) {
  const code = $('.code', tr).value.trim();
  const prod = findProduct(code);
  const desc = $('.desc', tr);
  const price = $('.price', tr);
  if (prod) {
    tr.dataset.resolved = prod.barcode === code ? 'barcode' : 'sku';
    desc.value = prod.name; price.value = prod.price;
    desc.readOnly = true; price.readOnly = true;
  } else if (tr.dataset.resolved) {
    delete tr.dataset.resolved;
    desc.value = ''; price.value = '';
    desc.readOnly = false; price.readOnly = false;
  }
}

// A line changed: its amount, like every figure of the sale, comes from
// the next quote.
function updateLine() { scheduleQuote(); }

function updateSubtotal() { scheduleQuote(); }

// --- the quote: the sale's figures, from the node ---------------------------
const QUOTE_DELAY_MS = 150;
let quoteTimer = null;
let quoteSeq = 0;

/** Ask for a quote once the cashier pauses (typing, scanning). */
function scheduleQuote() {
  clearTimeout(quoteTimer);
  quoteTimer = setTimeout(() => { runQuote().catch(() => {}); }, QUOTE_DELAY_MS);
}

/** The checkout as it stands, as a quote request: the lines that can be
 * priced already (a catalogue product, or a unit price typed; a free line
 * not yet described is priced under a placeholder), and the rows they are. */
function quoteRequest() {
  const rows = [];
  const lines = [];
  for (const tr of lineRows()) {
    const qty = parseQty($('.qty', tr).value);
    if (qty === null) continue;
    const code = $('.code', tr).value.trim();
    if (code && tr.dataset.resolved) {
      lines.push({ [tr.dataset.resolved]: code, qty });
    } else {
      const price = parseAmountInput($('.price', tr).value);
      if (price === null) continue;
      lines.push({ description: $('.desc', tr).value.trim() || '-', unit_price: price, qty });
    }
    rows.push(tr);
  }
  const tenders = [];
  for (const row of tenderRows()) {
    const kind = $('.t-kind', row).value;
    const raw = $('.t-amount', row).value.trim();
    const amount = raw ? parseAmountInput(raw) : null;
    if (raw && amount === null) continue;
    tenders.push(amount === null ? { kind } : { kind, amount });
  }
  const body = { lines, tenders };
  if (state.coMember) body.member_id = state.coMember.id;
  const points = $('#checkout-points').value.trim();
  if (!$('#checkout-points-row').hidden && /^\d{1,12}$/.test(points) && Number(points) > 0) body.points = Number(points);
  return { rows, body };
}

/** Quote the checkout and show its figures. Refused (say, the balance here
 * is short), the goods are quoted again as if paid in cash, so the lines
 * and the payable still show, with the refusal beside them. */
async function runQuote() {
  const seq = ++quoteSeq;
  const { rows, body } = quoteRequest();
  let quote = null;
  let refusal = null;
  if (body.lines.length) {
    try {
      quote = await api('POST', '/api/v1/checkouts/quote', { body });
    } catch (e) {
      if (!(e instanceof ApiError) || e.unauthorized) return;
      refusal = e;
      if (seq !== quoteSeq) return;
      try {
        quote = await api('POST', '/api/v1/checkouts/quote', { body: { ...body, tenders: [{ kind: 'cash' }] } });
      } catch (e2) { quote = null; }
    }
  }
  if (seq !== quoteSeq) return; // a newer quote is on its way
  showQuote(quote, rows, refusal, body.lines.length === 0);
}

function setFigure(sel, value, text) {
  const el = $(sel);
  if (value === null || value === undefined) {
    el.textContent = '';
    delete el.dataset.value;
  } else {
    el.textContent = text === undefined ? money(value) : text;
    el.dataset.value = String(value);
  }
}

function showQuote(q, rows, refusal, empty) {
  for (const tr of lineRows()) {
    const cell = $('.amount', tr);
    const i = rows.indexOf(tr);
    const line = q && i >= 0 ? q.lines[i] : null;
    if (line) {
      cell.textContent = money(line.amount);
      cell.dataset.fen = String(toFen(line.amount));
      cell.dataset.value = line.amount;
    } else {
      cell.textContent = '';
      delete cell.dataset.fen;
      delete cell.dataset.value;
    }
  }
  const zero = empty ? '0.00' : null;
  setFigure('#checkout-subtotal', q ? q.total : zero);
  setFigure('#checkout-quote-discount', q ? q.discount : zero, q ? `-${money(q.discount)}` : undefined);
  setFigure('#checkout-quote-payable', q ? q.payable : zero);
  setFigure('#checkout-quote-points', q && q.member_id ? q.points_earned : null, q ? `+${q.points_earned}` : undefined);
  $('#checkout-quote-points-label').hidden = !(q && q.member_id);
  const pv = $('#checkout-points-value');
  if (q && q.points_used > 0) {
    pv.textContent = t('checkout.points_value', { value: `-${money(q.points_value)}` });
    pv.dataset.value = q.points_value;
  } else {
    pv.textContent = '';
    delete pv.dataset.value;
  }
  const note = $('#checkout-quote-note');
  note.hidden = !refusal;
  note.dataset.code = refusal ? refusal.code : '';
  if (refusal) {
    const e = refusal.err;
    note.textContent = e.code === 'network_error' ? t('err.network_error')
      : (state.lang === 'zh' ? e.message_zh || e.message : e.message || e.message_zh) || e.code;
  } else {
    note.textContent = '';
  }
}

function lineIsEmpty(tr) {
  return !$('.code', tr).value.trim() && !$('.desc', tr).value.trim() && !$('.price', tr).value.trim();
}

function focusLastCode() {
  let rows = lineRows();
  let last = rows[rows.length - 1];
  if (!last || !lineIsEmpty(last)) last = addLine();
  $('.code', last).focus();
}

/** Enter in a barcode field: the scanned code becomes a line. */
function onCodeEnter(tr) {
  const input = $('.code', tr);
  const code = input.value.trim();
  if (!code) {
    if (lineRows().some((r) => !lineIsEmpty(r))) $('#checkout-submit').focus();
    return;
  }
  input.value = code;
  resolveLine(tr);
  // Same code already on another line: one more of it.
  const other = lineRows().find((r) => r !== tr && $('.code', r).value.trim() === code);
  if (other) {
    const q = parseQty($('.qty', other).value);
    const add = parseQty($('.qty', tr).value) || '1';
    if (q !== null && /^\d+$/.test(q) && /^\d+$/.test(add)) {
      $('.qty', other).value = String(BigInt(q) + BigInt(add));
      updateLine(other);
      tr.remove();
      renumberLines();
      updateSubtotal();
      focusLastCode();
      return;
    }
  }
  updateLine(tr);
  focusLastCode();
}

function tenderRows() { return $$('#checkout-tenders .tender'); }

function renumberTenders() {
  tenderRows().forEach((row, i) => {
    $('.t-kind', row).setAttribute('data-test', `checkout-tender-kind-${i}`);
    $('.t-amount', row).setAttribute('data-test', `checkout-tender-amount-${i}`);
    $('.t-remove', row).setAttribute('data-test', `checkout-tender-remove-${i}`);
    $('.t-kind', row).id = `checkout-tender-kind-${i}`;
    $('.t-amount', row).id = `checkout-tender-amount-${i}`;
  });
}

function addTender(kind, amount) {
  const used = new Set(tenderRows().map((r) => $('.t-kind', r).value));
  const k = kind || TENDERS.find((x) => !used.has(x) && (x !== 'balance' || state.coMember)) || 'cash';
  const sel = h('select', { class: 't-kind' }, TENDERS.map((x) => h('option', { value: x, 'data-i18n': `tender.${x}`, text: t(`tender.${x}`) })));
  sel.value = k;
  const row = h('div', { class: 'tender row' },
    sel,
    h('input', { type: 'text', class: 't-amount num grow', inputmode: 'decimal', 'data-i18n-placeholder': 'checkout.tender_amount_ph', placeholder: t('checkout.tender_amount_ph'), value: amount || '' }),
    h('button', { type: 'button', class: 'icon-btn t-remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' }));
  sel.addEventListener('change', () => { row.dataset.touched = '1'; scheduleQuote(); });
  $('.t-amount', row).addEventListener('input', () => { row.dataset.touched = '1'; scheduleQuote(); });
  $('.t-remove', row).addEventListener('click', () => { row.remove(); renumberTenders(); syncBalanceOption(); scheduleQuote(); });
  $('#checkout-tenders').append(row);
  renumberTenders();
  syncBalanceOption();
  scheduleQuote();
  return row;
}

function syncBalanceOption() {
  for (const row of tenderRows()) {
    const opt = $('option[value="balance"]', row);
    opt.disabled = !state.coMember;
  }
}

function resetTenders() {
  clear($('#checkout-tenders'));
  addTender(state.coMember ? 'balance' : 'cash');
}

function renderCheckoutMember() {
  const box = clear($('#checkout-member'));
  const m = state.coMember;
  box.dataset.id = m ? m.id : '';
  if (!m) {
    box.append(h('span', { class: 'muted', 'data-test': 'checkout-walk-in', text: t('checkout.walk_in') }));
    return;
  }
  box.append(
    h('span', { class: 'co-name', text: m.name }), ' ',
    h('span', { class: 'muted', text: maskPhone(m) }), ' ',
    h('span', { class: 'level-badge small', 'data-code': m.level && m.level.code, text: `${levelName(m.level)}${m.level && m.level.rate ? ` · ${rateText(m.level.rate)}` : ''}` }), ' ',
    h('span', { class: 'muted', text: `${t('wallet.available_here')} ` }),
    h('strong', { class: 'money', 'data-test': 'checkout-member-available', 'data-value': m.available_here, text: money(m.available_here) }), ' ',
    h('span', { class: 'muted', text: `${t('wallet.points')} ${m.points == null ? t('common.none') : m.points}` }), ' ',
    h('button', { type: 'button', class: 'link-btn', 'data-test': 'checkout-member-clear', text: t('checkout.clear_member'), onclick: () => pickCheckoutMember(null) }));
  renderPointsRow();
}

/** The points deduction row: shown for a member when the programme allows
 * paying with points; what the typed points deduct comes from the quote. */
function renderPointsRow() {
  const rule = state.programme && state.programme.points_deduction;
  const m = state.coMember;
  const row = $('#checkout-points-row');
  row.hidden = !(rule && m);
  if (row.hidden) { $('#checkout-points').value = ''; scheduleQuote(); return; }
  const held = m.points;
  $('#checkout-points-rule').textContent = t('checkout.points_rule', { rate: rule.points_per_yuan, cap: capText(rule.cap), held: held == null ? t('common.none') : held });
  scheduleQuote();
}

function pickCheckoutMember(m) {
  state.coMember = m;
  state.results.checkout = null;
  renderResults('checkout');
  renderCheckoutMember();
  syncBalanceOption();
  const rows = tenderRows();
  if (rows.length === 1 && !rows[0].dataset.touched && !$('.t-amount', rows[0]).value) {
    $('.t-kind', rows[0]).value = m ? 'balance' : 'cash';
  }
  if (!m) for (const row of rows) if ($('.t-kind', row).value === 'balance') $('.t-kind', row).value = 'cash';
  $('#checkout-member-q').value = '';
  scheduleQuote();
  if (m) {
    // Refresh: the list entry may be stale.
    api('GET', `/api/v1/members/${encodeURIComponent(m.id)}`).then((fresh) => {
      if (state.coMember && state.coMember.id === fresh.id) { state.coMember = fresh; renderCheckoutMember(); }
    }).catch(() => {});
  }
}

async function findCheckoutMember() {
  clearError();
  const q = $('#checkout-member-q').value.trim();
  if (!q) { showError(localError('members.query_required')); return; }
  const by = guessBy(q, $('#checkout-member-by'));
  await busy($('#checkout-member-find'), async () => {
    const list = await searchMembers(by, q);
    if (list.length === 1) { pickCheckoutMember(list[0]); focusLastCode(); return; }
    state.results.checkout = list;
    renderResults('checkout');
  });
}

function buildCheckout() {
  const lines = [];
  let n = 0;
  for (const tr of lineRows()) {
    n += 1;
    if (lineIsEmpty(tr)) continue;
    const code = $('.code', tr).value.trim();
    const desc = $('.desc', tr).value.trim();
    const priceRaw = $('.price', tr).value.trim();
    const qty = parseQty($('.qty', tr).value);
    if (qty === null) throw localError('checkout.bad_qty', { n }, 'invalid_qty');
    if (code) {
      const kind = tr.dataset.resolved || (/^\d+$/.test(code) ? 'barcode' : 'sku');
      lines.push({ [kind]: code, qty });
    } else {
      if (!desc || !priceRaw) throw localError('checkout.bad_line', { n }, 'invalid_lines');
      const price = parseAmountInput(priceRaw);
      if (price === null) throw localError('checkout.bad_price', { n }, 'invalid_amount');
      lines.push({ description: desc, unit_price: price, qty });
    }
  }
  if (!lines.length) throw localError('checkout.no_lines', null, 'invalid_lines');
  const tenders = [];
  let empty = 0;
  for (const row of tenderRows()) {
    const kind = $('.t-kind', row).value;
    const raw = $('.t-amount', row).value.trim();
    if (!raw) { empty += 1; tenders.push({ kind }); continue; }
    const amount = parseAmountInput(raw);
    if (amount === null) throw localError('checkout.bad_tender', null, 'invalid_amount');
    tenders.push({ kind, amount });
  }
  if (!tenders.length) throw localError('checkout.no_tender', null, 'invalid_tenders');
  if (empty > 1) throw localError('checkout.two_empty', null, 'invalid_tenders');
  const body = { lines, tenders };
  if (state.coMember) body.member_id = state.coMember.id;
  const points = $('#checkout-points').value.trim();
  if (points && !$('#checkout-points-row').hidden) {
    if (!/^\d{1,12}$/.test(points)) throw localError('checkout.bad_points', null, 'invalid_points');
    if (Number(points) > 0) body.points = Number(points);
  }
  return body;
}

function resetCheckout(keepMember) {
  clear($('#checkout-lines tbody'));
  $('#checkout-points').value = '';
  renderPointsRow();
  addLine();
  if (!keepMember) {
    state.coMember = null;
    renderCheckoutMember();
  }
  resetTenders();
  updateSubtotal();
}

async function submitCheckout(ev) {
  ev.preventDefault();
  clearError();
  let body;
  try { body = buildCheckout(); } catch (e) { showError(e); return; }
  await busy($('#checkout-submit'), async () => {
    const order = await postOnce('checkout', '/api/v1/checkouts', body);
    state.receipt = { order, member: state.coMember };
    renderReceipt();
    toast(t('checkout.done', { payable: money(order.payable) }));
    if (state.member && order.member_id === state.member.id) openMember(state.member.id).catch(() => {});
    resetCheckout(false);
    focusLastCode();
  });
}

function orderTable(o, withRefund) {
  const rows = (o.lines || []).map((l, i) => {
    const refunded = l.refunded_qty !== undefined ? l.refunded_qty : (Array.isArray(o.refunded_qty) ? o.refunded_qty[i] : null);
    return h('tr', { 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-${i}` },
      h('td', null, h('div', { text: l.description || l.sku || l.barcode || '' }),
        (l.barcode || l.sku) ? h('div', { class: 'muted small mono', text: l.barcode || l.sku }) : null),
      h('td', { class: 'num nowrap', text: `${l.qty} × ${money(l.unit_price)}` }),
      h('td', { class: 'num money', text: money(l.amount) }),
      h('td', { class: 'num money', text: toFen(l.discount) ? `-${money(l.discount)}` : money(l.discount) }),
      h('td', { class: 'num money strong', 'data-test': `${withRefund ? 'order-view' : 'receipt'}-line-payable-${i}`, 'data-value': l.payable, text: money(l.payable) }),
      withRefund ? h('td', { class: 'num' },
        refunded && !/^0*(\.0*)?$/.test(String(refunded)) ? h('div', { class: 'muted small', text: `${t('orders.refunded_qty')} ${refunded}` }) : null,
        h('input', { type: 'text', class: 'refund-qty num', inputmode: 'decimal', 'data-line': i, 'data-test': `refund-qty-${i}`, id: `refund-qty-${i}`, placeholder: '0' })) : null);
  });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table receipt-lines' },
    h('thead', null, h('tr', null,
      h('th', { text: t('receipt.item') }), h('th', { class: 'num', text: t('receipt.qty_price') }),
      h('th', { class: 'num', text: t('receipt.amount') }), h('th', { class: 'num', text: t('receipt.discount') }),
      h('th', { class: 'num', text: t('receipt.payable') }),
      withRefund ? h('th', { class: 'num', text: t('orders.refund_qty') }) : null)),
    h('tbody', null, rows)));
}

function totalsList(o, prefix) {
  const dl = h('dl', { class: 'totals' });
  const row = (label, val, test, raw, cls) => dl.append(h('div', { class: `kv-row ${cls || ''}` },
    h('dt', { text: label }), h('dd', { 'data-test': test.replace(/^receipt-/, `${prefix}-`), 'data-value': raw, class: 'money', text: val })));
  row(t('receipt.total'), money(o.total), 'receipt-total', o.total);
  row(t('receipt.discount'), toFen(o.discount) ? `-${money(o.discount)}` : money(o.discount), 'receipt-discount', o.discount);
  if (o.points_used) {
    row(t('receipt.points_used'), `-${money(o.points_value)}`, 'receipt-points-value', o.points_value);
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_count') }),
      h('dd', { 'data-test': `${prefix}-points-used`, 'data-value': o.points_used, text: String(o.points_used) })));
  }
  row(t('receipt.payable'), money(o.payable), 'receipt-payable', o.payable, 'grand');
  // Tenders are net of change; the cash row shows what was handed over.
  const changeFen = toFen(o.change) || 0n;
  for (const tn of o.tenders || []) {
    const given = tn.kind === 'cash' && changeFen > 0n && toFen(tn.amount) !== null ? fenStr(toFen(tn.amount) + changeFen) : tn.amount;
    row(tenderName(tn.kind), money(given), `receipt-tender-${tn.kind}`, given);
  }
  if (o.paid !== undefined) row(t('receipt.paid'), money(o.paid), 'receipt-paid', o.paid);
  if (o.change !== undefined && toFen(o.change)) row(t('receipt.change'), money(o.change), 'receipt-change', o.change);
  if (toFen(o.balance_principal)) row(t('receipt.balance_principal'), money(o.balance_principal), 'receipt-balance-principal', o.balance_principal);
  if (toFen(o.balance_bonus)) row(t('receipt.balance_bonus'), money(o.balance_bonus), 'receipt-balance-bonus', o.balance_bonus);
  if (o.member_id) {
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_earned') }),
      h('dd', { 'data-test': `${prefix}-points`, 'data-value': o.points_earned, text: String(o.points_earned ?? t('common.none')) })));
  }
  if (toFen(o.refunded)) row(t('receipt.refunded'), money(o.refunded), 'receipt-refunded', o.refunded);
  if (o.points_returned) {
    dl.append(h('div', { class: 'kv-row' }, h('dt', { text: t('receipt.points_returned') }),
      h('dd', { 'data-test': `${prefix}-points-returned`, 'data-value': o.points_returned, text: `+${o.points_returned}` })));
  }
  return dl;
}

function orderHead(o, member, prefix) {
  const dl = h('dl', { class: 'kv compact' });
  const row = (label, val, test) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }),
    h('dd', { 'data-test': test && test.replace(/^receipt-/, `${prefix}-`), text: val })));
  row(t('receipt.order'), o.id, 'receipt-id');
  row(t('receipt.store'), o.store || t('common.none'));
  row(t('receipt.time'), fmtTime(o.created_at));
  if (o.member_id) row(t('receipt.member'), member ? `${member.name} ${maskPhone(member)}` : o.member_id);
  if (o.member_id || (o.rate && o.rate !== '1' && o.rate !== '1.00')) row(t('receipt.level'), `${levelName(o.level)} · ${rateText(o.rate)}`);
  if (o.status) row(t('receipt.status'), statusName(o.status), 'receipt-status');
  return dl;
}

function renderReceipt() {
  const box = clear($('#receipt'));
  const r = state.receipt;
  $('#receipt-empty').hidden = !!r;
  box.hidden = !r;
  if (!r) return;
  const o = r.order;
  box.dataset.id = o.id;
  box.append(
    h('h2', { class: 'receipt-title', text: t('receipt.title') }),
    orderHead(o, r.member, 'receipt'),
    orderTable(o, false),
    totalsList(o, 'receipt'),
    h('p', { class: 'muted small', text: t('receipt.rounding') }),
    r.text ? h('pre', { class: 'receipt-text', 'data-test': 'receipt-text', text: r.text }) : '',
    h('div', { class: 'actions no-print' },
      h('button', { type: 'button', 'data-test': 'receipt-print', text: t('common.print'), onclick: () => window.print() }),
      h('button', {
        type: 'button', 'data-test': 'receipt-text-btn', text: t('receipt.text'),
        onclick: (ev) => busy(ev.currentTarget, async () => {
          r.text = r.text ? null : await api('GET', `/api/v1/orders/${encodeURIComponent(o.id)}/receipt`, { text: true });
          renderReceipt();
        }),
      }),
      h('button', { type: 'button', 'data-test': 'receipt-to-order', text: t('receipt.to_order'), onclick: () => openOrderFromElsewhere(o.id) })));
}

// ---------------------------------------------------------------------------
// Orders and refunds
// ---------------------------------------------------------------------------
async function openOrder(id) {
  let o;
  try {
    o = await api('GET', `/api/v1/orders/${encodeURIComponent(id)}`);
  } catch (e) {
    // Never leave another order on screen under the id that was asked for.
    if (state.order && state.order.id !== id) { state.order = null; state.orderMember = null; renderOrder(true); }
    throw e;
  }
  state.order = o;
  state.orderMember = null;
  renderOrder(true);
  if (o.member_id) {
    api('GET', `/api/v1/members/${encodeURIComponent(o.member_id)}`).then((m) => {
      if (state.order && state.order.member_id === m.id) { state.orderMember = m; renderOrder(); }
    }).catch(() => {});
  }
}

function openOrderFromElsewhere(id) {
  showTab('orders');
  $('#order-id').value = id;
  clearError();
  busy($('#order-open'), () => openOrder(id));
}

function renderOrder(fresh) {
  disarmRefundAll();
  const form = $('#refund-form');
  const o = state.order;
  form.hidden = !o;
  const box = $('#order-view');
  // Keep what the cashier typed in the refund quantities across re-renders
  // (language switch), not across a new order or a refund.
  const typed = {};
  if (!fresh && o && box.dataset.id === o.id) {
    for (const el of $$('.refund-qty', box)) if (el.value) typed[el.dataset.line] = el.value;
  }
  clear(box);
  if (!o) return;
  box.dataset.id = o.id;
  box.append(h('h2', { text: `${t('receipt.order')} ${o.id}` }), orderHead(o, state.orderMember, 'order-view'), orderTable(o, true), totalsList(o, 'order-view'));
  for (const [i, v] of Object.entries(typed)) { const el = $(`#refund-qty-${i}`); if (el) el.value = v; }
  syncRefundButtons();
}

let refundArmTimer = null;
function disarmRefundAll() {
  const b = $('#refund-all');
  clearTimeout(refundArmTimer);
  delete b.dataset.armed;
  b.classList.remove('armed');
  b.textContent = t('refund.all');
}

function syncRefundButtons() {
  const done = !state.order || state.order.status === 'refunded';
  for (const b of [$('#refund-all'), $('#refund-lines')]) if (!b.dataset.busy) b.disabled = done;
}

async function refund(all) {
  clearError();
  const o = state.order;
  if (!o) return;
  const body = {};
  if (!all) {
    const lines = [];
    for (const el of $$('.refund-qty', $('#order-view'))) {
      const raw = el.value.trim();
      if (!raw) continue;
      const qty = parseQty(raw);
      if (qty === null) { showError(localError('checkout.bad_qty', { n: Number(el.dataset.line) + 1 }, 'invalid_qty')); return; }
      lines.push({ line: Number(el.dataset.line), qty });
    }
    if (!lines.length) { showError(localError('refund.no_lines', null, 'invalid_refund_line')); return; }
    body.lines = lines;
  }
  const reason = $('#refund-reason').value.trim();
  if (reason) body.reason = reason;
  await busy([$('#refund-all'), $('#refund-lines')], async () => {
    const r = await postOnce('refund', `/api/v1/orders/${encodeURIComponent(o.id)}/refunds`, body);
    state.refundResult = r;
    state.order = r.order || state.order;
    $('#refund-reason').value = '';
    toast(t('refund.done', { amount: money(r.amount) }));
    if (!r.order) await openOrder(o.id).catch(() => {});
    renderOrder(true);
    renderRefundResult();
    if (state.member && o.member_id === state.member.id) openMember(state.member.id).catch(() => {});
  });
  syncRefundButtons();
}

function renderRefundResult() {
  const box = clear($('#refund-result'));
  const r = state.refundResult;
  $('#refund-empty').hidden = !!r;
  box.hidden = !r;
  if (!r) return;
  const dl = h('dl', { class: 'totals' });
  const row = (label, val, test, raw) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', { 'data-test': test, 'data-value': raw, text: val })));
  row(t('refund.id'), r.id, 'refund-id');
  row(t('receipt.order'), r.order_id || (r.order && r.order.id) || '', 'refund-order');
  row(t('refund.amount'), money(r.amount), 'refund-amount', r.amount);
  for (const tn of r.tenders || []) row(`${t('refund.tenders')} · ${tenderName(tn.kind)}`, money(tn.amount), `refund-tender-${tn.kind}`, tn.amount);
  if (toFen(r.balance_principal)) row(t('receipt.balance_principal'), money(r.balance_principal), 'refund-balance-principal', r.balance_principal);
  if (toFen(r.balance_bonus)) row(t('receipt.balance_bonus'), money(r.balance_bonus), 'refund-balance-bonus', r.balance_bonus);
  if (r.points_reversed) row(t('refund.points_reversed'), String(r.points_reversed), 'refund-points', r.points_reversed);
  if (r.reason) row(t('refund.reason'), r.reason, 'refund-reason-shown');
  box.append(h('h2', { text: t('refund.result') }), dl);
}

// ---------------------------------------------------------------------------
// Duplicates and merge
// ---------------------------------------------------------------------------
/** A duplicate group is known by its members (the value shown is masked). */
function dupKey(g) { return `${g.kind}:${(g.members || []).map((m) => m.id).sort().join(' ')}`; }

async function loadDuplicates() {
  const r = await api('GET', '/api/v1/members/duplicates');
  state.duplicates = (r && r.duplicates) || [];
  // A pick survives a reload while its group is still listed.
  const keys = new Set(state.duplicates.map(dupKey));
  for (const k of Object.keys(state.mergePick)) if (!keys.has(k)) delete state.mergePick[k];
  if (state.mergeConfirm && !keys.has(state.mergeConfirm)) state.mergeConfirm = null;
  renderDuplicates();
}

function renderDuplicates() {
  const box = clear($('#dup-list'));
  const list = state.duplicates;
  renderMergeResult();
  if (!list) return;
  if (!list.length) {
    box.append(h('div', { class: 'card empty', 'data-test': 'dup-none', text: t('dup.none') }));
    return;
  }
  list.forEach((g, gi) => {
    const key = dupKey(g);
    const pick = state.mergePick[key] || null;
    const members = g.members || [];
    const title = t(g.kind === 'card' ? 'dup.kind_card' : 'dup.kind_phone', { value: g.value });
    const cards = members.map((m) => {
      const kv = h('dl', { class: 'kv' });
      const row = (label, val, test, raw) => kv.append(h('div', { class: 'kv-row' }, h('dt', { text: label }),
        h('dd', { 'data-test': test, 'data-value': raw, text: val })));
      row(t('field.name'), m.name || t('common.none'), 'dup-name');
      row(t('field.phone'), maskPhone(m), 'dup-phone');
      row(t('field.card_no'), m.card_no || t('common.none'), 'dup-card');
      row(t('wallet.balance'), money(m.balance), 'dup-balance', m.balance);
      row(t('wallet.available_here'), money(m.available_here), 'dup-available', m.available_here);
      row(t('wallet.points'), m.points == null ? t('common.none') : String(m.points), 'dup-points', m.points);
      row(t('member.home_store'), m.home_store || t('common.none'), 'dup-home', m.home_store);
      row(t('member.created_at'), fmtTime(m.created_at), 'dup-created');
      row(t('member.id'), m.id, 'dup-id');
      const radio = h('input', { type: 'radio', name: `dup-keep-${gi}`, value: m.id, 'data-test': 'dup-keep' });
      radio.checked = pick === m.id;
      return h('div', {
        class: `dup-member${pick === m.id ? ' survivor' : ''}`, 'data-test': 'dup-member', 'data-id': m.id,
        onclick: () => { if (state.mergePick[key] !== m.id) { state.mergePick[key] = m.id; state.mergeConfirm = null; renderDuplicates(); } },
      }, h('label', { class: 'dup-pick' }, radio, h('span', { text: t('dup.keep') })), kv);
    });
    const group = h('div', {
      class: 'card dup-group', 'data-test': 'dup-group', 'data-kind': g.kind, 'data-ids': members.map((m) => m.id).join(' '),
      'data-survivor': pick || '',
    }, h('h3', { text: title }), h('div', { class: 'dup-members' }, cards));
    if (state.mergeConfirm === key && pick) {
      const survivor = members.find((m) => m.id === pick);
      const absorbed = members.filter((m) => m.id !== pick);
      const btnConfirm = h('button', { type: 'button', class: 'danger armed', 'data-test': 'merge-confirm', text: t('dup.confirm_btn') });
      btnConfirm.addEventListener('click', () => mergeGroup(key, pick, absorbed, btnConfirm));
      group.append(h('div', { class: 'merge-confirm', 'data-test': 'merge-confirm-box', role: 'alertdialog' },
        h('div', {
          'data-test': 'merge-confirm-text',
          text: t('dup.confirm', {
            absorbed: absorbed.map((m) => (state.lang === 'zh' ? `${m.name}（${m.id}）` : `${m.name} (${m.id})`)).join(state.lang === 'zh' ? '、' : ', '),
            survivor: survivor ? survivor.name : pick, sid: pick,
          }),
        }),
        h('div', { class: 'actions' },
          h('button', { type: 'button', 'data-test': 'merge-cancel', text: t('common.cancel'), onclick: () => { state.mergeConfirm = null; renderDuplicates(); } }),
          btnConfirm)));
    } else {
      group.append(h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'primary', 'data-test': 'dup-merge', disabled: !pick, text: t('dup.merge'),
        onclick: () => {
          clearError();
          if (!state.mergePick[key]) { showError(localError('dup.pick_first', null, 'merge_pick_survivor')); return; }
          state.mergeConfirm = key;
          renderDuplicates();
        },
      })));
    }
    box.append(group);
  });
}

async function mergeGroup(key, survivorId, absorbed, btn) {
  clearError();
  state.mergeResult = null;
  await busy(btn, async () => {
    let survivor = null;
    try {
      // The API merges one member at a time; a group of three takes two.
      for (const a of absorbed) {
        survivor = await postOnce(`merge:${a.id}`, `/api/v1/members/${encodeURIComponent(survivorId)}/merge`, { absorb: a.id });
      }
    } finally {
      state.mergeConfirm = null;
      if (survivor) {
        const here = state.health && state.health.node;
        state.mergeResult = {
          survivor, names: absorbed.map((m) => m.name || m.id),
          later: absorbed.some((m) => m.home_store && m.home_store !== here) || toFen(survivor.available_here) !== toFen(survivor.balance),
        };
        toast(t('dup.done', { names: state.mergeResult.names.join(state.lang === 'zh' ? '、' : ', '), survivor: survivor.name }));
      }
      // Whatever happened, show the list as it is now.
      await loadDuplicates().catch((e) => { if (!(e instanceof ApiError && e.unauthorized)) renderDuplicates(); });
    }
  });
}

function renderMergeResult() {
  const box = clear($('#merge-result'));
  const r = state.mergeResult;
  box.hidden = !r;
  if (!r) return;
  const s = r.survivor;
  box.dataset.id = s.id;
  box.dataset.value = s.balance;
  box.append(
    h('div', { text: t('dup.result', { names: r.names.join(state.lang === 'zh' ? '、' : ', '), survivor: s.name, sid: s.id, balance: money(s.balance), points: s.points == null ? t('common.none') : s.points }) }),
    r.later ? h('div', { class: 'small', text: t('dup.result_later') }) : null,
    h('div', { class: 'actions' }, h('button', {
      type: 'button', 'data-test': 'merge-open-member', text: t('dup.open_member'),
      onclick: () => { showTab('members'); busy($('#member-refresh'), () => openMember(s.id)); },
    })));
}

// ---------------------------------------------------------------------------
// Programme (HQ, or a node of no chain, edits; a chain's store views)
// ---------------------------------------------------------------------------
async function loadProgrammeScreen() {
  const [p, hl, sync] = await Promise.allSettled([
    api('GET', '/api/v1/programme'), api('GET', '/api/v1/health'), api('GET', '/api/v1/sync/status'),
  ]);
  if (p.status === 'rejected') throw p.reason;
  state.programme = p.value;
  if (hl.status === 'fulfilled') { state.health = hl.value; renderNodeBadge(); }
  const role = state.health && state.health.role;
  const peers = sync.status === 'fulfilled' ? (sync.value.peers || []) : null;
  // HQ authors the chain's programme; a node of no chain (no peers) its
  // own. Should this guess be wrong the API says so (programme_hq_only).
  state.progEditable = !state.progLocked && (role === 'hq' || (peers !== null && peers.length === 0));
  state.progError = null;
  state.progDirty = false;
  fillProgrammeForm(state.programme);
  renderRechargeOffers();
  renderRechargePreview();
}

function progInput(cls, value, field, attrs) {
  return h('input', { type: 'text', class: cls, 'data-field': field, value: value == null ? '' : String(value), autocomplete: 'off', spellcheck: 'false', ...(attrs || {}) });
}

function addOfferRow(o) {
  const x = o || {};
  const tr = h('tr', { class: 'prog-offer' },
    h('td', { class: 'num' }, progInput('num', x.threshold, 'threshold', { inputmode: 'decimal', placeholder: '1000.00' })),
    h('td', { class: 'num' }, progInput('num', x.bonus, 'bonus', { inputmode: 'decimal', placeholder: '100.00' })),
    h('td', null, h('button', { type: 'button', class: 'icon-btn prog-edit', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#prog-offers-table tbody').append(tr);
  return tr;
}

function addLevelRow(l) {
  const x = l || {};
  const tr = h('tr', { class: 'prog-level' },
    h('td', null, progInput('mono', x.code, 'code', { maxlength: 32 })),
    h('td', null, progInput('', x.name_zh, 'name_zh', { maxlength: 32 })),
    h('td', null, progInput('', x.name_en, 'name_en', { maxlength: 32 })),
    h('td', { class: 'num' }, progInput('num', x.min_principal, 'min_principal', { inputmode: 'decimal' })),
    h('td', { class: 'num' }, progInput('num', x.rate, 'rate', { inputmode: 'decimal', placeholder: '0.95' })),
    h('td', null, h('button', { type: 'button', class: 'icon-btn prog-edit', 'data-field': 'remove', 'data-i18n-title': 'common.remove', title: t('common.remove'), text: '×' })));
  $('#prog-levels-table tbody').append(tr);
  return tr;
}

function renumberProgramme() {
  $$('#prog-offers-table tbody tr').forEach((tr, i) => {
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `prog-offer-${el.dataset.field}-${i}`);
  });
  $$('#prog-levels-table tbody tr').forEach((tr, i) => {
    for (const el of $$('[data-field]', tr)) el.setAttribute('data-test', `prog-level-${el.dataset.field}-${i}`);
  });
  syncProgrammeReadonly();
}

function fillProgrammeForm(p) {
  clear($('#prog-offers-table tbody'));
  clear($('#prog-levels-table tbody'));
  if (p) {
    for (const o of p.recharge_offers || []) addOfferRow(o);
    for (const l of p.levels || []) addLevelRow(l);
  }
  $('#prog-points-per-yuan').value = p ? String(p.points_per_yuan) : '';
  const d = p && p.points_deduction;
  $('#prog-deduction-on').checked = !!d;
  $('#prog-deduction-rate').value = d ? String(d.points_per_yuan) : '';
  $('#prog-deduction-cap').value = d ? String(d.cap) : '';
  $('#prog-deduction-min').value = d ? String(d.min_points) : '';
  const form = $('#programme-form');
  form.dataset.loaded = p ? '1' : '';
  renumberProgramme();
  renderProgrammeError();
}

function syncProgrammeReadonly() {
  const form = $('#programme-form');
  const ro = !state.progEditable;
  if (ro) form.dataset.readonly = '1'; else delete form.dataset.readonly;
  $('#programme-readonly').hidden = !ro || !form.dataset.loaded;
  $('#programme-hint').hidden = ro;
  for (const el of $$('input', form)) el.readOnly = ro;
  $('#prog-deduction-on').disabled = ro;
}

/** The form as the API takes it; `rows` maps each sent item to its row. */
function readProgrammeForm() {
  const val = (tr, f) => $(`[data-field="${f}"]`, tr).value.trim();
  // A typed "¥1,000" is sent as "1000.00"; anything else as typed, for
  // the API to refuse with its own message.
  const amount = (s) => parseAmountInput(s) || s;
  const rows = { offers: [], levels: [] };
  const offers = [];
  for (const tr of $$('#prog-offers-table tbody tr')) {
    const th = val(tr, 'threshold');
    const bonus = val(tr, 'bonus');
    if (!th && !bonus) continue;
    offers.push({ threshold: amount(th), bonus: amount(bonus) });
    rows.offers.push(tr);
  }
  const levels = [];
  for (const tr of $$('#prog-levels-table tbody tr')) {
    const l = {
      code: val(tr, 'code'), name_zh: val(tr, 'name_zh'), name_en: val(tr, 'name_en'),
      min_principal: amount(val(tr, 'min_principal')), rate: val(tr, 'rate'),
    };
    if (!l.code && !l.name_zh && !l.name_en && !l.min_principal && !l.rate) continue;
    levels.push(l);
    rows.levels.push(tr);
  }
  const body = { recharge_offers: offers, levels, points_per_yuan: $('#prog-points-per-yuan').value.trim() };
  // Sent as typed (a whole number is sent as a number), for the API to
  // refuse with its own code and message.
  const whole = (s) => (/^\d{1,12}$/.test(s) ? Number(s) : s);
  body.points_deduction = $('#prog-deduction-on').checked ? {
    points_per_yuan: whole($('#prog-deduction-rate').value.trim()),
    cap: $('#prog-deduction-cap').value.trim(),
    min_points: whole($('#prog-deduction-min').value.trim() || '0'),
  } : null;
  return { body, rows };
}

// Which part of the form an API refusal is about.
const PROG_ERROR_SECTIONS = {
  programme_levels_order: ['levels'], programme_level_rate: ['levels'], programme_level_names: ['levels'],
  programme_offers_order: ['offers'], programme_points_rate: ['points'], programme_too_many: ['offers', 'levels'],
  programme_deduction_rate: ['deduction'], programme_deduction_cap: ['deduction'], programme_deduction_minimum: ['deduction'],
};

function renderProgrammeError() {
  const box = $('#programme-error');
  const e = state.progError;
  for (const s of $$('.prog-section')) s.classList.remove('invalid');
  for (const el of $$('#programme-form input[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (!e) { box.hidden = true; delete box.dataset.code; return; }
  const msg = state.lang === 'zh' ? (e.message_zh || e.message || t('err.http', { status: e.status }))
    : (e.message || e.message_zh || t('err.http', { status: e.status }));
  $('#programme-error-message').textContent = msg;
  $('#programme-error-code').textContent = e.code || '';
  box.dataset.code = e.code || '';
  box.hidden = false;
  for (const s of PROG_ERROR_SECTIONS[e.code] || []) $(`.prog-section[data-section="${s}"]`).classList.add('invalid');
  // "recharge_offers[1].bonus", "levels[0].min_principal": the very field.
  const m = /^(recharge_offers|levels)\[(\d+)\]\.(\w+)$/.exec(e.field || '');
  const rows = state.progSentRows;
  if (m && rows) {
    const tr = (m[1] === 'levels' ? rows.levels : rows.offers)[Number(m[2])];
    const el = tr && $(`[data-field="${m[3]}"]`, tr);
    if (el) { el.setAttribute('aria-invalid', 'true'); el.closest('.prog-section').classList.add('invalid'); }
  }
}

async function saveProgramme(ev) {
  ev.preventDefault();
  clearError();
  if (!state.progEditable) return;
  const { body, rows } = readProgrammeForm();
  state.progError = null;
  state.progSentRows = rows;
  renderProgrammeError();
  await busy([$('#programme-save'), $('#programme-reset')], async () => {
    let p;
    try {
      p = await sendOnce('programme', 'PUT', '/api/v1/programme', body);
    } catch (e) {
      // A refusal of the programme is shown next to the form, the rest
      // (network, server) in the banner.
      if (!(e instanceof ApiError) || e.unauthorized || e.status === 0 || e.status >= 500) throw e;
      state.progError = { status: e.status, ...e.err };
      if (e.code === 'programme_hq_only') {
        // The node is a chain's store after all: show the programme as it is.
        state.progLocked = true;
        state.progEditable = false;
        fillProgrammeForm(state.programme);
      }
      renderProgrammeError();
      $('#programme-error').scrollIntoView({ block: 'nearest' });
      return;
    }
    state.programme = p;
    renderPointsRow();
    state.progDirty = false;
    fillProgrammeForm(p);
    const form = $('#programme-form');
    form.dataset.saved = String(Number(form.dataset.saved || 0) + 1);
    renderRechargeOffers();
    renderRechargePreview();
    toast(t('prog.saved'));
  });
}

// ---------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------
async function loadOverview() {
  const [hl, ledger, sync] = await Promise.allSettled([
    api('GET', '/api/v1/health'), api('GET', '/api/v1/ledger/summary'), api('GET', '/api/v1/sync/status'),
  ]);
  const val = (r) => (r.status === 'fulfilled' ? r.value : null);
  const failed = [hl, ledger, sync].find((r) => r.status === 'rejected' && !(r.reason && r.reason.unauthorized));
  if (failed) showError(failed.reason);
  if (document.body.dataset.auth !== 'app') return;
  state.overview = { health: val(hl), ledger: val(ledger), sync: val(sync) };
  if (state.overview.health) { state.health = state.overview.health; renderNodeBadge(); }
  renderOverview();
}

function renderOverview() {
  const ov = state.overview;
  const hbox = clear($('#overview-health'));
  const lbox = clear($('#overview-ledger'));
  const sbox = clear($('#overview-sync'));
  if (!ov) return;
  const kv = (dl, label, val, test) => dl.append(h('div', { class: 'kv-row' }, h('dt', { text: label }), h('dd', { 'data-test': test, text: val })));
  if (ov.health) {
    kv(hbox, t('overview.node'), ov.health.node, 'health-node');
    kv(hbox, t('overview.role'), ov.health.role, 'health-role');
    kv(hbox, t('overview.version'), ov.health.version, 'health-version');
  } else kv(hbox, t('overview.node'), t('overview.unavailable'));
  if (ov.ledger) {
    const keys = [...LEDGER_ORDER.filter((k) => k in ov.ledger), ...Object.keys(ov.ledger).filter((k) => !LEDGER_ORDER.includes(k))];
    for (const k of keys) {
      const v = ov.ledger[k];
      if (v !== null && typeof v === 'object') continue;
      const isMoney = typeof v === 'string' && MONEY_RE.test(v);
      kv(lbox, I18N.zh[`ledger.${k}`] ? t(`ledger.${k}`) : k, isMoney ? money(v) : String(v), `ledger-${k}`);
    }
  } else kv(lbox, t('overview.ledger'), t('overview.unavailable'));
  if (ov.sync) {
    const s = ov.sync;
    const peers = s.peers || [];
    sbox.append(h('h4', { text: t('overview.peers') }));
    if (!peers.length) sbox.append(h('p', { class: 'muted', text: t('overview.no_peers') }));
    else {
      sbox.append(h('table', { class: 'table', 'data-test': 'sync-peers' },
        h('thead', null, h('tr', null, h('th', { text: t('overview.node') }), h('th', { text: '' }), h('th', { class: 'num', text: t('overview.lag') }))),
        h('tbody', null, peers.map((p) => h('tr', { 'data-test': 'sync-peer', 'data-node': p.node },
          h('td', { text: p.node }),
          h('td', null, h('span', { class: `dot ${p.connected ? 'ok' : 'bad'}` }), p.connected ? t('overview.connected') : t('overview.disconnected')),
          h('td', { class: 'num', text: p.lag_ops == null ? t('common.none') : String(p.lag_ops) }))))));
    }
    const vv = s.version_vector;
    sbox.append(h('h4', { text: t('overview.vv') }));
    if (vv && typeof vv === 'object') {
      const dl = h('dl', { class: 'kv compact', 'data-test': 'sync-vv' });
      for (const [node, n] of Object.entries(vv)) kv(dl, node, typeof n === 'object' ? JSON.stringify(n) : String(n));
      sbox.append(dl);
    } else sbox.append(h('p', { class: 'mono small', text: vv == null ? t('common.none') : String(vv) }));
    sbox.append(h('h4', { text: t('overview.hash') }), h('p', { class: 'mono small hash', 'data-test': 'sync-hash', text: s.state_hash || t('common.none') }));
  } else sbox.append(h('p', { class: 'muted', text: t('overview.unavailable') }));
}

// ---------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------
function bind() {
  $('#lang-toggle').addEventListener('click', () => setLang(state.lang === 'zh' ? 'en' : 'zh'));
  $('#error-close').addEventListener('click', clearError);
  $('#logout').addEventListener('click', () => { setToken(null); showLogin('auth.logged_out'); });
  $('#login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const tok = $('#login-token').value.trim();
    if (!tok) { state.loginMessage = 'auth.required'; renderLoginMessage(); return; }
    setToken(tok);
    state.loginMessage = null;
    renderLoginMessage();
    busy($('#login-submit'), start);
  });
  window.addEventListener('hashchange', () => { if (takeTokenFromHash()) start(); });
  for (const b of $$('.tab')) b.addEventListener('click', () => showTab(b.dataset.tab));

  // members
  $('#member-search-form').addEventListener('submit', doSearchMembers);
  $('#register-form').addEventListener('submit', registerMember);
  $('#member-edit').addEventListener('click', openEdit);
  $('#edit-cancel').addEventListener('click', () => { $('#edit-form').hidden = true; });
  $('#edit-form').addEventListener('submit', saveEdit);
  $('#member-refresh').addEventListener('click', () => { if (state.member) busy($('#member-refresh'), () => openMember(state.member.id)); });
  $('#member-to-checkout').addEventListener('click', () => {
    if (!state.member) return;
    pickCheckoutMember(state.member);
    showTab('checkout');
    focusLastCode();
  });
  $('#recharge-form').addEventListener('submit', recharge);
  $('#recharge-amount').addEventListener('input', renderRechargePreview);

  // checkout
  const form = $('#checkout-form');
  form.addEventListener('submit', submitCheckout);
  $('#checkout-member-find').addEventListener('click', findCheckoutMember);
  $('#checkout-add-line').addEventListener('click', () => { const tr = addLine(); $('.code', tr).focus(); });
  $('#checkout-points').addEventListener('input', renderPointsRow);
  $('#checkout-add-tender').addEventListener('click', () => { const r = addTender(); $('.t-amount', r).focus(); });
  $('#checkout-clear').addEventListener('click', () => { clearError(); resetCheckout(false); focusLastCode(); });
  $('#checkout-lines').addEventListener('input', (ev) => {
    const tr = ev.target.closest('tr');
    if (!tr) return;
    if (ev.target.classList.contains('code') && tr.dataset.resolved) resolveLine(tr);
    updateLine(tr);
  });
  $('#checkout-lines').addEventListener('change', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr && ev.target.classList.contains('code')) { resolveLine(tr); updateLine(tr); }
  });
  $('#checkout-lines').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-field="remove"]');
    if (!b) return;
    b.closest('tr').remove();
    if (!lineRows().length) addLine();
    renumberLines();
    updateSubtotal();
  });
  // Enter never charges by accident: only the Charge button submits.
  form.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' || ev.isComposing) return;
    const el = ev.target;
    if (el.tagName === 'BUTTON') return;
    ev.preventDefault();
    const tr = el.closest('tr.line');
    if (el.id === 'checkout-member-q') { findCheckoutMember(); return; }
    if (!tr) return;
    if (el.classList.contains('code')) onCodeEnter(tr);
    else if (el.classList.contains('desc')) $('.price', tr).focus();
    else if (el.classList.contains('price')) $('.qty', tr).select();
    else if (el.classList.contains('qty')) focusLastCode();
  });

  // orders
  $('#order-open-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearError();
    const id = $('#order-id').value.trim();
    if (!id) { showError(localError('orders.id_required')); return; }
    state.refundResult = null;
    renderRefundResult();
    busy($('#order-open'), () => openOrder(id));
  });
  $('#refund-form').addEventListener('submit', (ev) => { ev.preventDefault(); refund(false); });
  // Refunding a whole order takes two clicks: the first arms the button.
  $('#refund-all').addEventListener('click', () => {
    const b = $('#refund-all');
    if (b.dataset.armed) { disarmRefundAll(); refund(true); return; }
    b.dataset.armed = '1';
    b.classList.add('armed');
    b.textContent = t('refund.confirm_all');
    refundArmTimer = setTimeout(disarmRefundAll, 5000);
  });

  // duplicates
  $('#dup-refresh').addEventListener('click', () => { clearError(); busy($('#dup-refresh'), loadDuplicates); });

  // programme
  $('#programme-form').addEventListener('submit', saveProgramme);
  $('#programme-form').addEventListener('input', () => { state.progDirty = true; });
  $('#programme-reload').addEventListener('click', () => { clearError(); busy($('#programme-reload'), loadProgrammeScreen); });
  $('#programme-reset').addEventListener('click', () => {
    state.progError = null;
    state.progDirty = false;
    fillProgrammeForm(state.programme);
  });
  $('#prog-add-offer').addEventListener('click', () => { state.progDirty = true; const tr = addOfferRow(); renumberProgramme(); $('input', tr).focus(); });
  $('#prog-add-level').addEventListener('click', () => { state.progDirty = true; const tr = addLevelRow(); renumberProgramme(); $('input', tr).focus(); });
  for (const tb of [$('#prog-offers-table tbody'), $('#prog-levels-table tbody')]) {
    tb.addEventListener('click', (ev) => {
      const b = ev.target.closest('[data-field="remove"]');
      if (!b || !state.progEditable) return;
      state.progDirty = true;
      b.closest('tr').remove();
      renumberProgramme();
    });
  }

  // overview
  $('#overview-refresh').addEventListener('click', () => busy($('#overview-refresh'), loadOverview));
}

function init() {
  let lang = 'zh';
  try { lang = localStorage.getItem(LS_LANG) || 'zh'; } catch (e) { /* ignore */ }
  state.lang = lang === 'en' ? 'en' : 'zh';
  try { state.token = localStorage.getItem(LS_TOKEN); } catch (e) { state.token = null; }
  bind();
  addLine();
  resetTenders();
  renderCheckoutMember();
  applyLang();
  takeTokenFromHash();
  if (state.token) start(); else showLogin(null);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
})();
