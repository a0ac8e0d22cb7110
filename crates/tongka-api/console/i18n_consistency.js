// The consistency screen's words (一致性报告). Simplified Chinese first;
// i18n.js merges them into its one dictionary.

export const CONSISTENCY_I18N = {
  zh: {
    'tab.consistency': '一致性',
    'cons.title': '一致性报告（本节点所见全链）',
    'cons.ledger': '账本平衡', 'cons.balanced': '账本平衡，精确到分', 'cons.unbalanced': '账本不平衡！',
    'cons.held': '会员持有', 'cons.owed': '账本应有（充值 − 消费 + 退款）',
    'cons.principal': '本金', 'cons.bonus': '赠送', 'cons.points': '积分',
    'cons.transfers': '份额转移（托管）', 'cons.count': '笔数',
    'cons.coupon_uses': '券次数', 'cons.card_visits': '卡次数',
    'cons.scan_partial': '仅统计最近 {n} 条操作。',
    'cons.declined': '分区期间拒绝的消费（自本节点启动以来）', 'cons.code': '原因', 'cons.cause': '情形',
    'cons.dups': '重复会员', 'cons.dups_found': '发现', 'cons.dups_open': '待合并', 'cons.merged': '已合并',
    'cons.rejected': '被拒绝的操作（违反规则）', 'cons.refused': '被拒收的操作（验证失败）',
    'cons.reason': '原因', 'cons.none': '无',
    'cons.declined_short': '拒绝消费', 'cons.rejected_short': '被拒绝', 'cons.refused_short': '被拒收',
    'cons.stores': '各门店', 'cons.store': '门店', 'cons.given': '转出', 'cons.received': '转入',
    'cons.updated': '更新于 {time}，每 5 秒刷新',
  },
  en: {
    'tab.consistency': 'Consistency',
    'cons.title': 'Consistency report (the chain as this node sees it)',
    'cons.ledger': 'Ledger balance', 'cons.balanced': 'The ledger balances to the fen', 'cons.unbalanced': 'The ledger does not balance!',
    'cons.held': 'Members hold', 'cons.owed': 'The ledger owes (recharged − spent + refunded)',
    'cons.principal': 'Principal', 'cons.bonus': 'Bonus', 'cons.points': 'Points',
    'cons.transfers': 'Escrow transfers', 'cons.count': 'Count',
    'cons.coupon_uses': 'Coupon uses', 'cons.card_visits': 'Card visits',
    'cons.scan_partial': 'Of the latest {n} ops only.',
    'cons.declined': 'Spends declined during partitions (since this node started)', 'cons.code': 'Refusal', 'cons.cause': 'Cause',
    'cons.dups': 'Duplicate members', 'cons.dups_found': 'Found', 'cons.dups_open': 'Not merged', 'cons.merged': 'Merged',
    'cons.rejected': 'Ops rejected (failed their rules)', 'cons.refused': 'Ops refused (failed verification)',
    'cons.reason': 'Reason', 'cons.none': 'None',
    'cons.declined_short': 'Declined', 'cons.rejected_short': 'Rejected', 'cons.refused_short': 'Refused',
    'cons.stores': 'Per store', 'cons.store': 'Store', 'cons.given': 'Given', 'cons.received': 'Received',
    'cons.updated': 'Updated {time}, refreshed every 5 s',
  },
};
