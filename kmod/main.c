// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module parameters, registration and per-namespace state.
 *
 * DOC: Module life cycle
 *
 * msgmux registers, in dependency order: the &struct proto (its slab
 * cache), the per-namespace state (which creates /proc/net/msgmux in every
 * namespace), and last the address family, after which socket() can reach
 * the module.  Unloading undoes the same steps in reverse.  While any
 * msgmux socket exists, the socket layer holds a reference on the module,
 * so rmmod is refused.
 *
 * The family number is a module parameter because Linux has no free slot
 * below AF_MAX: msgmux takes a retired one (19, once AF_ECONET) unless told
 * otherwise, and fails to load with a message naming the slot if another
 * protocol holds it.  MODULE_ALIAS_NETPROTO() lets socket() autoload the
 * module for the default number.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "msgmux.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

int msgmux_family __ro_after_init = AF_MSGMUX_DEFAULT;
module_param_named(family, msgmux_family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 19)");

static unsigned int msgmux_net_id __read_mostly;

struct workqueue_struct *msgmux_wq __read_mostly;

/**
 * msgmux_pernet() - msgmux's state in a network namespace
 * @net: the namespace.
 *
 * Context: any; @net must be alive.
 * Return: the namespace's &struct msgmux_net.
 */
struct msgmux_net *msgmux_pernet(const struct net *net)
{
	return net_generic(net, msgmux_net_id);
}

static int __net_init msgmux_net_init(struct net *net)
{
	struct msgmux_net *mn = msgmux_pernet(net);

	mutex_init(&mn->lock);
	INIT_LIST_HEAD(&mn->muxes);
	mn->next_mux_id = 1;
	return msgmux_proc_init_net(net);
}

static void __net_exit msgmux_net_exit(struct net *net)
{
	struct msgmux_net *mn = msgmux_pernet(net);

	msgmux_proc_exit_net(net);
	/* Every socket holds its namespace, so no mux can be left. */
	WARN_ON_ONCE(!list_empty(&mn->muxes));
	mutex_destroy(&mn->lock);
}

static struct pernet_operations msgmux_net_ops = {
	.init = msgmux_net_init,
	.exit = msgmux_net_exit,
	.id = &msgmux_net_id,
	.size = sizeof(struct msgmux_net),
};

static int __init msgmux_check_family(int family)
{
	/* AF_UNSPEC and the families the rest of the stack relies on. */
	if (family <= AF_UNSPEC || family >= AF_MAX) {
		pr_err("family=%d is out of range: use a free slot from 1 to %d\n",
		       family, AF_MAX - 1);
		return -EINVAL;
	}
	return 0;
}

static int __init msgmux_init(void)
{
	int err;

	BUILD_BUG_ON(offsetof(struct msgmux_sock, sk) != 0);
	BUILD_BUG_ON(sizeof(struct sockaddr_msgmux) != 36);
	BUILD_BUG_ON(sizeof(struct sockaddr_msgmux) >
		     sizeof(struct __kernel_sockaddr_storage));

	err = msgmux_check_family(msgmux_family);
	if (err)
		return err;
	msgmux_sock_init_family(msgmux_family);

	err = msgmux_psock_cache_init();
	if (err)
		return err;
	msgmux_wq = alloc_workqueue("msgmux", 0, 0);
	if (!msgmux_wq) {
		err = -ENOMEM;
		goto err_destroy_cache;
	}

	err = proto_register(&msgmux_proto, 1);
	if (err)
		goto err_destroy_wq;

	err = register_pernet_subsys(&msgmux_net_ops);
	if (err)
		goto err_unreg_proto;

	err = sock_register(&msgmux_family_ops);
	if (err) {
		if (err == -EEXIST)
			pr_err("address family %d is taken by another protocol: load with family=N to use a free slot\n",
			       msgmux_family);
		goto err_unreg_pernet;
	}

	pr_info("registered address family %d\n", msgmux_family);
	return 0;

err_unreg_pernet:
	unregister_pernet_subsys(&msgmux_net_ops);
err_unreg_proto:
	proto_unregister(&msgmux_proto);
err_destroy_wq:
	destroy_workqueue(msgmux_wq);
err_destroy_cache:
	msgmux_psock_cache_exit();
	return err;
}

static void __exit msgmux_exit(void)
{
	sock_unregister(msgmux_family);
	/* Runs what is still queued; those works hold what they touch. */
	destroy_workqueue(msgmux_wq);
	unregister_pernet_subsys(&msgmux_net_ops);
	proto_unregister(&msgmux_proto);
	msgmux_psock_cache_exit();
}

module_init(msgmux_init);
module_exit(msgmux_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("msgmux: whole messages over TCP connections");
MODULE_ALIAS_NETPROTO(AF_MSGMUX_DEFAULT);
